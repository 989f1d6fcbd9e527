// Package config loads the oslo.config-style INI files of the Dragonflow
// pub/sub fabric and resolves them into typed, validated settings.
//
// # Contract
//
//   - Every option is registered centrally in this package, one file per
//     group (opts_default.go, opts_df.go, opts_neutron.go, opts_controller.go,
//     opts_df_aio.go), like dragonflow/conf/*.py. Options lists them.
//   - Load reads the files in order; a later file overrides an earlier one,
//     option by option, like repeating oslo's --config-file. Loading no file
//     yields the defaults. FileList is the repeatable --config-file flag, for
//     both the standard flag package and cobra/pflag.
//   - A value of the wrong type, out of range or outside its allowed values
//     fails Load with a *ValueError naming the file, section, key and value.
//     A file that cannot be read or parsed fails with a *FileError naming the
//     file; it wraps the cause, so errors.Is(err, fs.ErrNotExist) works.
//   - Unknown sections and unknown keys are not errors: each is logged once
//     per Config at Warn level with its file, section and key. So is every
//     use of a deprecated name (it still works, and the warning names the new
//     name) and of a removed option (which is ignored, and the warning says
//     why it is gone).
//   - Within one file the current name of an option wins over a deprecated
//     name; across files the later file wins whichever name it uses.
//   - ForRole is the only place that maps a process role to its section
//     ([neutron] or [controller]); the rest of the code takes RoleSettings
//     and never branches on "is this the neutron server".
//   - The accessors (Str, Int, Bool, List, IP, Duration) panic when asked
//     for an option that is not registered, or with the wrong type: that is a
//     programming error, not a configuration error. Set validates like Load.
//   - A *Config is safe for concurrent use.
//
// # File syntax
//
// The syntax is that of oslo.config (parsed with gopkg.in/ini.v1):
//
//   - Section names are case-insensitive ("[Neutron]" is [neutron],
//     "[default]" is [DEFAULT]); keys are case-sensitive. Keys before the
//     first section header belong to DEFAULT.
//   - "key = value" or "key: value". Surrounding whitespace, and one pair of
//     surrounding single or double quotes, are removed.
//   - A value continues on the following lines that are indented (Python
//     configparser style). The indentation of each continuation line is
//     stripped and the lines are joined with "\n"; an indented line starting
//     with '#' or ';' is a comment and is dropped; a blank line ends the
//     value.
//   - Comments are whole lines starting with '#' or ';'. There are no inline
//     comments (oslo has none either): "a = http://x;y" and "a = b#c" keep
//     their ';' and '#', and "port = 8866  # note" is an invalid port.
//   - A trailing backslash is a literal character, not a line continuation.
//   - "%(name)s" is not interpolated; neither is oslo's "$name".
//
// Value syntax per type: Bool accepts true/false, yes/no, on/off, 1/0 in any
// case; List is split on commas and newlines, items are trimmed and empty
// items dropped; Port is 1-65535; IP is a literal IPv4 or IPv6 address (no
// host names); Seconds is a whole number of seconds.
package config
