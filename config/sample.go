package config

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
)

const sampleWidth = 79

// sampleGroupRank fixes the order of the first groups in the sample; the
// others follow alphabetically.
var sampleGroupRank = map[string]int{GroupDefault: 1, GroupDF: 2, GroupNeutron: 3, GroupController: 4}

// WriteSample writes a sample config generated from the registry, in the
// style of oslo-config-generator: every option commented out, with its help,
// type, deprecated names, allowed values and default. The output is
// deterministic and loads back to the defaults.
func WriteSample(w io.Writer) error {
	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }
	p("# Sample configuration of the Dragonflow pub/sub fabric, generated from\n")
	p("# the option registry. Every option is commented out and shows its default.\n")
	p("# Repeat --config-file to layer files: a later file overrides an earlier one.\n")

	groups := Groups()
	slices.SortStableFunc(groups, func(a, b Group) int {
		ra, rb := rankOf(a.Name), rankOf(b.Name)
		return cmp.Or(cmp.Compare(ra, rb), cmp.Compare(a.Name, b.Name))
	})
	for _, g := range groups {
		p("\n[%s]\n", g.Name)
		if g.Help != "" {
			p("\n#\n%s#\n", comment(g.Help))
		}
		for _, o := range reg.opts {
			if o.Group == g.Name {
				p("\n%s", sampleOpt(o))
			}
		}
	}
	return bw.Flush()
}

func rankOf(group string) int {
	if r, ok := sampleGroupRank[group]; ok {
		return r
	}
	return len(sampleGroupRank) + 1
}

// sampleOpt is one option's block, ending with its commented default.
func sampleOpt(o *Opt) string {
	var b strings.Builder
	b.WriteString(comment(o.Help + " (" + o.Kind.String() + ")"))
	if o.FormatHelp != "" {
		b.WriteString(comment("Format: " + o.FormatHelp))
	}
	if len(o.Choices) > 0 {
		b.WriteString(comment("Allowed values: " + strings.Join(o.Choices, ", ")))
	}
	if o.Min != nil {
		fmt.Fprintf(&b, "# Minimum value: %d\n", *o.Min)
	}
	if o.Max != nil {
		fmt.Fprintf(&b, "# Maximum value: %d\n", *o.Max)
	}
	for _, d := range o.Deprecated {
		fmt.Fprintf(&b, "# Deprecated group/name - [%s]/%s\n", d.Group, d.Name)
	}
	def := o.Default
	if o.SampleDefault != "" {
		def = o.SampleDefault
	}
	b.WriteString(strings.TrimRight("#"+o.Name+" = "+def, " ") + "\n")
	return b.String()
}

// comment wraps text into "# " lines of at most sampleWidth columns (a
// longer word stays whole).
func comment(text string) string {
	var b strings.Builder
	line := "#"
	for _, word := range strings.Fields(text) {
		if len(line)+1+len(word) > sampleWidth && line != "#" {
			b.WriteString(line + "\n")
			line = "#"
		}
		line += " " + word
	}
	b.WriteString(line + "\n")
	return b.String()
}
