package config

import (
	"flag"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pflagValue is pflag.Value, restated so the test needs no pflag import.
type pflagValue interface {
	String() string
	Set(string) error
	Type() string
}

var _ pflagValue = (*FileList)(nil)

func TestFileListWithFlagSet(t *testing.T) {
	files := writeFiles(t, "[df]\npub_sub_driver = a\n", "[df]\npub_sub_driver = b\n")
	var list FileList
	fs := flag.NewFlagSet("daemon", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Var(&list, "config-file", "config file; repeatable")
	require.NoError(t, fs.Parse([]string{"--config-file", files[0], "--config-file=" + files[1], "rest"}))
	assert.Equal(t, FileList{files[0], files[1]}, list)
	assert.Equal(t, files[0]+","+files[1], list.String())
	assert.Equal(t, []string{"rest"}, fs.Args())

	cfg, err := Load(list, nil)
	require.NoError(t, err)
	assert.Equal(t, "b", cfg.DF().PubSubDriver)

	assert.Error(t, fs.Parse([]string{"--config-file="}), "empty name rejected")
	assert.Equal(t, "stringArray", list.Type())
	assert.Equal(t, "", (*FileList)(nil).String())
}
