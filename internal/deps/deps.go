//go:build tools

// Package deps pins modules before their first real importer exists.
package deps

import (
	_ "github.com/google/uuid"
	_ "github.com/spf13/cobra"
	_ "github.com/stretchr/testify/require"
	_ "github.com/vmihailenco/msgpack/v5"
	_ "go.etcd.io/etcd/client/v3"
	_ "go.etcd.io/etcd/server/v3/embed"
	_ "go.uber.org/goleak"
	_ "go.uber.org/zap"
	_ "gopkg.in/ini.v1"
)
