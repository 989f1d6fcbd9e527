package config

import (
	"cmp"
	"fmt"
	"slices"
)

// groupDef is what each opts_*.go file contributes.
type groupDef struct {
	Group
	opts    []Opt
	removed []Removed
}

// registry is the immutable set of known options.
type registry struct {
	groups     []Group
	opts       []*Opt // registration order
	byName     map[OptName]*Opt
	deprecated map[OptName]*Opt
	removed    map[OptName]string
	// sections holds every section with a current, deprecated or removed
	// name in it: a key that is none of those is an unknown key there.
	sections map[string]bool
}

// reg is every option of the fabric. It is built once and never changes.
var reg = mustRegistry(defaultGroup(), dfGroup(), neutronGroup(), controllerGroup(), dfZMQGroup(), dfAIOGroup())

func mustRegistry(defs ...groupDef) *registry {
	r, err := buildRegistry(defs...)
	if err != nil {
		panic(err)
	}
	return r
}

func buildRegistry(defs ...groupDef) (*registry, error) {
	r := &registry{
		byName:     map[OptName]*Opt{},
		deprecated: map[OptName]*Opt{},
		removed:    map[OptName]string{},
		sections:   map[string]bool{},
	}
	taken := func(n OptName) bool {
		_, a := r.byName[n]
		_, b := r.deprecated[n]
		_, c := r.removed[n]
		return a || b || c
	}
	for _, d := range defs {
		if slices.ContainsFunc(r.groups, func(g Group) bool { return g.Name == d.Name }) {
			return nil, fmt.Errorf("config: group %q registered twice", d.Name)
		}
		r.groups = append(r.groups, d.Group)
		r.sections[d.Name] = true
		for i := range d.opts {
			o := &d.opts[i]
			o.Group = d.Name
			if err := validateOpt(o); err != nil {
				return nil, err
			}
			names := append([]OptName{o.Key()}, o.Deprecated...)
			for _, n := range names {
				if taken(n) {
					return nil, fmt.Errorf("config: option name %s registered twice", n)
				}
				r.sections[n.Group] = true
			}
			r.byName[o.Key()] = o
			for _, n := range o.Deprecated {
				r.deprecated[n] = o
			}
			r.opts = append(r.opts, o)
		}
		for _, rm := range d.removed {
			if taken(rm.OptName) {
				return nil, fmt.Errorf("config: removed option %s is also registered", rm.OptName)
			}
			r.removed[rm.OptName] = rm.Reason
			r.sections[rm.Group] = true
		}
	}
	return r, nil
}

func validateOpt(o *Opt) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("config: option %s: %s", o.Key(), fmt.Sprintf(format, args...))
	}
	switch {
	case o.Name == "" || o.Help == "":
		return bad("empty name or help")
	case o.Kind < KindStr || o.Kind > KindSeconds:
		return bad("invalid kind %d", o.Kind)
	case len(o.Choices) > 0 && o.Kind != KindStr:
		return bad("choices need a string option")
	case (o.Min != nil || o.Max != nil) && o.Kind != KindInt && o.Kind != KindSeconds:
		return bad("min/max need an integer option")
	case o.Check != nil && o.Kind != KindStr && o.Kind != KindList:
		return bad("check needs a string or list option")
	}
	def := o.Default
	if o.dynamicDefault != nil {
		def = o.dynamicDefault()
	}
	if _, err := parseValue(o, def); err != nil {
		return bad("default %q: %v", def, err)
	}
	return nil
}

// lookup finds the option a section/key names: current (deprecated=false)
// or former name (deprecated=true).
func (r *registry) lookup(n OptName) (o *Opt, deprecated bool) {
	if o := r.byName[n]; o != nil {
		return o, false
	}
	if o := r.deprecated[n]; o != nil {
		return o, true
	}
	return nil, false
}

func (r *registry) mustGet(group, name string) *Opt {
	o := r.byName[OptName{group, name}]
	if o == nil {
		panic(fmt.Sprintf("config: option [%s] %s is not registered", group, name))
	}
	return o
}

// Options returns a copy of every registered option in registration order.
func Options() []Opt {
	out := make([]Opt, len(reg.opts))
	for i, o := range reg.opts {
		out[i] = *o
		out[i].Choices = slices.Clone(o.Choices)
		out[i].Deprecated = slices.Clone(o.Deprecated)
		if o.Min != nil {
			out[i].Min = intp(*o.Min)
		}
		if o.Max != nil {
			out[i].Max = intp(*o.Max)
		}
	}
	return out
}

// Groups returns the registered groups in registration order.
func Groups() []Group { return slices.Clone(reg.groups) }

// RemovedOptions returns the Dragonflow options that were dropped on purpose.
func RemovedOptions() []Removed {
	out := make([]Removed, 0, len(reg.removed))
	for n, why := range reg.removed {
		out = append(out, Removed{OptName: n, Reason: why})
	}
	slices.SortFunc(out, func(a, b Removed) int {
		return cmp.Or(cmp.Compare(a.Group, b.Group), cmp.Compare(a.Name, b.Name))
	})
	return out
}
