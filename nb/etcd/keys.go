package etcd

import (
	"encoding/json"
	"fmt"
	"strings"

	"go.etcd.io/etcd/api/v3/mvccpb"

	"github.com/dragonflow-go/dragonflow/nb"
)

// pubsubTable is the first key segment reserved for the etcd pub/sub driver
// (Dragonflow publishes to /pubsub/<topic>); Tables never reports it.
const pubsubTable = "pubsub"

// tablePrefix is "/<table>/", the prefix of every row of table.
func tablePrefix(table string) string { return "/" + table + "/" }

// rowKey is "/<table>/<key>".
func rowKey(table, key string) string { return tablePrefix(table) + key }

// checkTable rejects names that would break the /<table>/<key> layout: an
// empty name, or one containing "/" (its rows would show up in another
// table's prefix).
func checkTable(table string) error {
	if table == "" || strings.Contains(table, "/") {
		return fmt.Errorf("etcd: invalid table name %q (must be non-empty, without '/')", table)
	}
	return nil
}

// tableOf returns the table of an etcd key "/<table>/<rest>", or false for a
// key outside the layout.
func tableOf(key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, "/")
	if !ok {
		return "", false
	}
	table, _, ok := strings.Cut(rest, "/")
	if !ok || table == "" {
		return "", false
	}
	return table, true
}

// toKV converts an etcd KeyValue of table to an nb.KV.
func toKV(table string, kv *mvccpb.KeyValue) nb.KV {
	return nb.KV{
		Table:          table,
		Key:            strings.TrimPrefix(string(kv.Key), tablePrefix(table)),
		Value:          kv.Value,
		CreateRevision: kv.CreateRevision,
		ModRevision:    kv.ModRevision,
		Lease:          nb.LeaseID(kv.Lease),
	}
}

// topicOf returns the top-level "topic" string of a JSON object, or "" when
// the value is not a JSON object or has no string topic. Only that field is
// decoded.
func topicOf(value []byte) string {
	var v struct {
		Topic json.RawMessage `json:"topic"`
	}
	if json.Unmarshal(value, &v) != nil || len(v.Topic) == 0 || v.Topic[0] != '"' {
		return ""
	}
	var topic string
	if json.Unmarshal(v.Topic, &topic) != nil {
		return ""
	}
	return topic
}
