package etcd_test

import (
	"testing"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb/etcd/embedded"
	"github.com/dragonflow-go/dragonflow/pubsub"
	dfetcd "github.com/dragonflow-go/dragonflow/pubsub/etcd"
)

// BenchmarkPublish measures one Publish (stamp, encode, one Put committed
// by a single-member embedded etcd, WAL fsync included) on loopback, with
// no subscriber.
func BenchmarkPublish(b *testing.B) {
	hosts := startEtcd(b, embedded.Config{}).Endpoints()
	p, err := dfetcd.NewDriver().NewPublisher(b.Context(), pubsub.PublisherConfig{ID: "p", Epoch: 1, Hosts: hosts, WireMode: model.WireV2})
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
