package redis

import (
	"encoding/json"
	"fmt"
	"strings"
)

// checkTable rejects table names that would break the layouts: empty, or
// with '/' (the lease index's "table/key" members; and etcd's layout),
// '.', '{' or '}' (Dragonflow's "{table.topic}key" would no longer tell
// the table from the topic, so rows of two tables could share a key).
func checkTable(table string) error {
	if table == "" || strings.ContainsAny(table, "/.{}") {
		return fmt.Errorf("redis: invalid table name %q (must be non-empty, without '/', '.', '{' or '}')", table)
	}
	return nil
}

// RowKey is the Redis key of a row, Dragonflow's layout: "{table.topic}key",
// with topic "" for a row without one ("{publisher.}<uuid>"). A topic
// containing '}' is stored as topicless, so that no two rows share a key
// (mirrored by the scripts' row_key).
func RowKey(table, topic, key string) string {
	if strings.Contains(topic, "}") {
		topic = ""
	}
	return "{" + table + "." + topic + "}" + key
}

// topicOf returns the top-level "topic" string of a JSON object, or "" when
// the value is not a JSON object or has no string topic. The field name
// matches exactly (as the memory driver).
func topicOf(value []byte) string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(value, &obj) != nil {
		return ""
	}
	raw, ok := obj["topic"]
	if !ok || len(raw) == 0 || raw[0] != '"' {
		return ""
	}
	var topic string
	if json.Unmarshal(raw, &topic) != nil {
		return ""
	}
	return topic
}
