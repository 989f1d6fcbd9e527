// Package model holds the event that travels the pub/sub fabric (DbUpdate),
// its Dragonflow-compatible msgpack wire codec, and the NB models the fabric
// stores (Publisher, Listener, Chassis, LogicalSwitch, Subnet, LogicalPort,
// ActivePort).
//
// # Wire body
//
// EncodeBody/AppendBody produce the body Python Dragonflow's pack_message
// produces (msgpack 0.5, use_bin_type=False): a map whose first five keys
// are, in this order, "table", "key", "action", "value", "topic". Every string
// uses the str family only and never bin: fixstr below 32 bytes, str16 (0xda)
// from 32 to 65535 bytes (msgpack 0.5 never emits str8) and str32 above. An
// empty Key or Topic and a nil Value travel as nil. In WireV2 mode (the
// default), a non-zero Meta adds four more keys, "pub_id", "epoch", "seq" and
// "pub_ts", with integers in their smallest msgpack encoding; Python reads the
// body by name and ignores them. WireStrict never emits them. Encoding does
// not allocate when dst has room: encode once per event, never once per
// subscriber.
//
// DecodeBody is liberal in what it accepts and strict about structure:
//   - the body must be exactly one map (fixmap, map16 or map32), with no
//     trailing bytes;
//   - keys are matched by name in any order; keys and string values may be any
//     of fixstr, str8, str16, str32, bin8, bin16, bin32; strings are taken as
//     bytes and are not checked to be UTF-8;
//   - "table" and "action" must be present; every field except "action" may be
//     nil, which reads as its zero value, and may be absent;
//   - "epoch", "seq" and "pub_ts" take any msgpack integer encoding that fits
//     the field (a negative epoch, for instance, is rejected);
//   - unknown keys, including non-string keys, are skipped together with their
//     value, whatever its type, down to a nesting depth of MaxSkipDepth;
//   - a known key that appears twice makes the body malformed: no encoder
//     emits it, and refusing it means no two decoders (Python's dict keeps the
//     last, others keep the first) can read different events from one body.
//
// Every failure wraps ErrMalformed. DecodeBody never panics, never allocates
// in proportion to a length the input claims before the bytes are there, and
// copies Value, so the result never aliases its input.
//
// # NB models
//
// Each model is a plain struct whose JSON is the row Dragonflow stores
// (jsonmodels to_struct): field names are Dragonflow's, references to other
// objects are their ids, and fields Dragonflow leaves unset (None) are omitted
// where the Go zero value means the same thing. Every model implements Model
// through pointer methods; NewByTable maps a table name to a new zero model.
package model
