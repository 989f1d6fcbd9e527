package config

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSampleRoundTripsToDefaults(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, WriteSample(&buf))
	files := writeFiles(t, buf.String())
	rec, log := newRecorder()
	cfg, err := Load(files, log)
	require.NoError(t, err)
	assert.Empty(t, rec.all(), "the sample names only known sections")
	def := New(nil)
	for _, o := range Options() {
		assert.Equal(t, def.values[o.Key()], cfg.values[o.Key()], o.Key())
	}

	var again bytes.Buffer
	require.NoError(t, WriteSample(&again))
	assert.Equal(t, buf.String(), again.String(), "deterministic")
}

func TestSampleMentionsEveryOption(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, WriteSample(&buf))
	out := buf.String()

	// Section bodies by name, in order of appearance.
	var order []string
	body := map[string]string{}
	cur := ""
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "[") {
			cur = strings.Trim(line, "[]")
			order = append(order, cur)
			continue
		}
		body[cur] += line + "\n"
	}
	assert.Equal(t, []string{"DEFAULT", "df", "neutron", "controller", "df_aio", "df_zmq"}, order)

	for _, o := range Options() {
		def := o.Default
		if o.SampleDefault != "" {
			def = o.SampleDefault
		}
		line := strings.TrimSpace("#" + o.Name + " = " + def)
		assert.Contains(t, body[o.Group], "\n"+line+"\n", o.Key())
		for _, d := range o.Deprecated {
			assert.Contains(t, body[o.Group], "# Deprecated group/name - ["+d.Group+"]/"+d.Name+"\n")
		}
	}
	assert.Contains(t, body["df"], "# Allowed values: v2, strict\n")
	assert.Contains(t, body["controller"], "# Allowed values: fake, ovsdb\n")
	assert.Contains(t, body["df"], "# Minimum value: 1\n")
	assert.Contains(t, body["df"], "(integer value, in seconds)")
	for _, line := range strings.Split(out, "\n") {
		assert.LessOrEqual(t, len(line), sampleWidth, line)
	}
}
