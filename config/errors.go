package config

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrUnknownOption is wrapped by Set for a group/name that is not
	// registered.
	ErrUnknownOption = errors.New("unknown option")
	// ErrUnknownRole is wrapped by ParseRole and ForRole.
	ErrUnknownRole = errors.New("unknown role")
	// ErrNoAdvertiseAddress is wrapped by RoleSettings.AdvertiseHost when
	// neither the binding address nor management_ip is usable by peers.
	ErrNoAdvertiseAddress = errors.New("no usable address to advertise")
)

// ValueError is a value that does not fit its option: wrong type, out of
// range, or not an allowed value. Section and Key are as written in the file
// (possibly a deprecated name). File is empty for Config.Set.
type ValueError struct {
	File    string
	Section string
	Key     string
	Value   string
	Err     error // the reason, e.g. "not a port number (1-65535)"
}

func (e *ValueError) Error() string {
	where := "config: "
	if e.File != "" {
		where += e.File + ": "
	}
	return fmt.Sprintf("%s[%s] %s = %q: %v", where, e.Section, e.Key, e.Value, e.Err)
}

func (e *ValueError) Unwrap() error { return e.Err }

// FileError is a config file that cannot be read or parsed. It wraps the
// cause: errors.Is(err, fs.ErrNotExist) reports a missing file.
type FileError struct {
	File string
	Err  error
}

func (e *FileError) Error() string {
	// ini.v1's syntax errors end with a newline.
	return "config: " + e.File + ": " + strings.TrimSpace(e.Err.Error())
}

func (e *FileError) Unwrap() error { return e.Err }
