package zmq_test

import (
	"strings"
	"testing"

	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/pubsubtest"
)

// TestConformance runs the driver conformance suite against the registered
// "zmq" driver (default options) over TCP.
func TestConformance(t *testing.T) {
	d, err := pubsub.Lookup("zmq")
	if err != nil {
		t.Fatal(err)
	}
	pubsubtest.Run(t, func(t *testing.T) pubsubtest.Harness {
		return pubsubtest.Harness{
			Driver: d,
			PublisherConfig: func(*testing.T, string) pubsub.PublisherConfig {
				return pubsub.PublisherConfig{ListenURI: "tcp://127.0.0.1:0"}
			},
			PrefixTopics: true,
			AliasURI: func(uri string) string {
				return strings.Replace(uri, "//127.0.0.1:", "//localhost:", 1)
			},
		}
	})
}
