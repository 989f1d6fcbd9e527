package nats_test

import (
	"testing"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

// BenchmarkPublish measures one Publish (stamp, encode, send, flush round
// trip) to an in-process nats-server on loopback, with no subscriber.
func BenchmarkPublish(b *testing.B) {
	_, url := startServer(b, -1)
	p, err := testDriver().NewPublisher(b.Context(), pubsub.PublisherConfig{ID: "p", Epoch: 1, Hosts: []string{url}, WireMode: model.WireV2})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	u := model.DbUpdate{Table: model.TableLogicalPort, Key: "k", Action: model.ActionSet, Value: []byte(`{"id":"k"}`), Topic: "t"}
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Publish(b.Context(), u); err != nil {
			b.Fatal(err)
		}
	}
}
