package config

import (
	"errors"
	"flag"
	"strings"
)

// FileList is the repeatable --config-file flag. It implements flag.Value
// and pflag.Value (cobra), so both work:
//
//	var files config.FileList
//	flag.Var(&files, "config-file", "config file; repeat to layer (later wins)")
//	cmd.Flags().Var(&files, "config-file", "...")
//	cfg, err := config.Load(files, logger)
type FileList []string

var _ flag.Value = (*FileList)(nil)

// String joins the files with commas.
func (l *FileList) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(*l, ",")
}

// Set appends one file; each use of the flag adds a layer.
func (l *FileList) Set(file string) error {
	if file == "" {
		return errors.New("empty config file name")
	}
	*l = append(*l, file)
	return nil
}

// Type names the flag's type in pflag/cobra help.
func (l *FileList) Type() string { return "stringArray" }
