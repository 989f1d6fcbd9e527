package main

import (
	"context"
	"io"

	"github.com/dragonflow-go/dragonflow/discovery"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

// discoveryRegister registers a test controller's publisher.
func discoveryRegister(ctx context.Context, db nb.Driver, info pubsub.Info) (io.Closer, error) {
	return discovery.Register(context.WithoutCancel(ctx), db, discovery.PublisherInfo{
		ID: info.ID, Role: model.RoleLocalController, URI: info.URI, Host: "node1", Epoch: info.Epoch,
	})
}
