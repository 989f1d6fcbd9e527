package config

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"gopkg.in/ini.v1"
)

// Load reads the files in order on top of the defaults; a later file
// overrides an earlier one option by option (oslo's repeated --config-file).
// No file yields the defaults. A nil logger discards the warnings.
//
// It fails with a *FileError for a file that cannot be read or parsed and
// with a *ValueError for a value that does not fit its option.
func Load(files []string, logger *slog.Logger) (*Config, error) {
	c := New(logger)
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) { // FileError already names the file
				err = pe.Err
			}
			return nil, &FileError{File: name, Err: err}
		}
		if err := c.apply(name, data); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Parse is Load for one in-memory file; name is used in errors and warnings.
func Parse(name string, data []byte, logger *slog.Logger) (*Config, error) {
	c := New(logger)
	if err := c.apply(name, data); err != nil {
		return nil, err
	}
	return c, nil
}

// iniOptions make gopkg.in/ini.v1 parse like oslo.config:
//   - Python-style indented continuation lines (stripped by normalizeValue,
//     since ini.v1 keeps their indentation);
//   - no inline comments and no backslash continuation;
//   - a read buffer larger than the file: ini.v1 looks for continuation
//     lines only within one buffer, and would split a long value otherwise.
func iniOptions(size int) ini.LoadOptions {
	return ini.LoadOptions{
		AllowPythonMultilineValues: true,
		IgnoreInlineComment:        true,
		IgnoreContinuation:         true,
		ReaderBufferSize:           size + 1,
	}
}

// assignment is the value one file gives an option.
type assignment struct {
	value      any
	deprecated bool
}

// apply parses one file and sets the options it names. Nothing is set when
// the file has an error.
func (c *Config) apply(file string, data []byte) error {
	f, err := ini.LoadSources(iniOptions(len(data)), data)
	if err != nil {
		return &FileError{File: file, Err: err}
	}
	got := map[*Opt]assignment{}
	for _, sec := range f.Sections() {
		section := normalizeSection(sec.Name())
		if !reg.sections[section] {
			c.warnOnce("section "+section, "config: unknown section ignored",
				"file", file, "section", section, "keys", sec.KeyStrings())
			continue
		}
		for _, k := range sec.Keys() {
			o, deprecated := c.resolve(file, section, k.Name())
			if o == nil {
				continue
			}
			raw := normalizeValue(k.Value())
			v, err := parseValue(o, raw)
			if err != nil {
				return &ValueError{File: file, Section: section, Key: k.Name(), Value: raw, Err: err}
			}
			// Within one file the current name wins over a deprecated one.
			if prev, ok := got[o]; ok && deprecated && !prev.deprecated {
				continue
			}
			got[o] = assignment{value: v, deprecated: deprecated}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for o, a := range got {
		c.values[o.Key()] = a.value
	}
	return nil
}

// resolve maps a key of a known section to its option, logging unknown,
// deprecated and removed names once. A nil option means "ignore".
func (c *Config) resolve(file, section, key string) (o *Opt, deprecated bool) {
	n := OptName{Group: section, Name: key}
	attrs := []any{"file", file, "section", section, "key", n.Name}
	if why, ok := reg.removed[n]; ok {
		c.warnOnce("removed "+n.String(), "config: removed option ignored", append(attrs, "reason", why)...)
		return nil, false
	}
	o, deprecated = reg.lookup(n)
	switch {
	case o == nil:
		c.warnOnce("unknown "+n.String(), "config: unknown option ignored", attrs...)
	case deprecated:
		c.warnOnce("deprecated "+n.String(), "config: deprecated option name, use "+o.Key().String(),
			append(attrs, "new_section", o.Group, "new_key", o.Name)...)
	}
	return o, deprecated
}

// normalizeSection makes section names case-insensitive.
func normalizeSection(name string) string {
	if strings.EqualFold(name, GroupDefault) {
		return GroupDefault
	}
	return strings.ToLower(name)
}

// normalizeValue trims a value and, for a multi-line value, the indentation
// of each continuation line (ini.v1 keeps it, configparser does not), and
// drops indented comment lines, like configparser.
func normalizeValue(v string) string {
	if !strings.Contains(v, "\n") {
		return strings.TrimSpace(v)
	}
	lines := strings.Split(v, "\n")
	out := lines[:0]
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if i > 0 && (strings.HasPrefix(l, "#") || strings.HasPrefix(l, ";")) {
			continue
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}
