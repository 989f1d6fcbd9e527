package etcd

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestTopicOf(t *testing.T) {
	for in, want := range map[string]string{
		`{"topic":"t1","id":"x"}`:         "t1",
		`{"id":"x","topic":"t\u00e9"}`:    "té",
		`{"topic":""}`:                    "",
		`{"topic":null}`:                  "",
		`{"topic":7}`:                     "",
		`{"nested":{"topic":"t1"}}`:       "",
		`["topic","t1"]`:                  "",
		`"topic"`:                         "",
		`not json`:                        "",
		``:                                "",
		`{"topic":"t1"} trailing`:         "",
		`  {"a":[1,{"b":2}],"topic":"z"}`: "z",
	} {
		assert.Equal(t, want, topicOf([]byte(in)), in)
	}
}

func TestTableOf(t *testing.T) {
	for key, want := range map[string]string{
		"/lport/p1":   "lport",
		"/lport/a/b":  "lport",
		"/lport/":     "lport",
		"/pubsub/D":   "pubsub",
		"/stray":      "",
		"//x":         "",
		"noslash/x/y": "",
		"":            "",
	} {
		got, ok := tableOf(key)
		assert.Equal(t, want, got, key)
		assert.Equal(t, want != "", ok, key)
	}
}
