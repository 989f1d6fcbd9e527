// Package redis is the "redis" pub/sub driver (pubsub.Register; the NB DB
// driver of the same name is nb/redis, in the other registry): a broker
// driver on Redis classic pub/sub through github.com/redis/go-redis/v9,
// against a standalone server or a Redis Cluster.
//
// Channels are named by the topic exactly, as Dragonflow's
// redis_db_pubsub_driver; the payload is the msgpack body of model (with
// the v2 extension keys in WireV2), so Python Dragonflow peers can talk to
// it. Topics match exactly (SUBSCRIBE, never PSUBSCRIBE). Subscribers
// filter by the publisher id of each event's Meta: RegisterPublisher
// connects nothing. Losses are reported, never silent: every reconnect
// (GapReconnect: Redis keeps no history), every event dropped on the
// subscriber's bounded queue (GapOverflow), seq and epoch gaps per
// publisher (pubsub.Tracker), undecodable messages (GapMalformed).
//
// See README.md for the cluster design (classic PUBLISH pinned to one
// master rather than sharded SPUBLISH), delivery guarantees and options.
package redis
