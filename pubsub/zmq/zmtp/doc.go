// Package zmtp is the wire codec of ZMTP 3.x with the NULL security
// mechanism (RFC 23 ZMTP 3.0, RFC 37 ZMTP 3.1), as spoken by libzmq 4.x. It
// has no goroutines and no sockets of its own: it encodes into byte slices,
// decodes from an io.Reader, and runs the handshake over an io.ReadWriter
// whose deadlines the caller sets.
//
// What it covers:
//   - the 64-byte greeting (signature 0xFF … 0x7F, version, mechanism,
//     as-server, filler); this side always announces 3.1, like libzmq 4.3,
//     and accepts a peer announcing 3.0 or 3.1 (a higher 3.x or a later
//     major version is treated as 3.1, as the RFC asks; anything before 3.0
//     is refused);
//   - frames: short (1-byte size) and long (8-byte size), MORE and COMMAND
//     flags; reserved flag bits must be zero; a frame larger than the
//     reader's limit is refused before a byte of it is buffered, and a
//     large frame's buffer grows with the bytes that actually arrive, never
//     with the size a peer claims;
//   - commands: READY with its metadata (Socket-Type, Identity, and any other
//     property, names compared case-insensitively), ERROR, PING/PONG
//     (ZMTP 3.1), SUBSCRIBE/CANCEL (ZMTP 3.1), and ZMTP 3.0 subscription
//     messages (a data frame whose first byte is 1 to subscribe, 0 to
//     cancel);
//   - the NULL handshake: greeting and READY are written at once, then the
//     peer's greeting and READY are read and checked, including that the
//     socket types may talk to each other (PUB↔SUB/XSUB, XPUB↔SUB/XSUB,
//     PUSH↔PULL). A refused peer gets an ERROR command before the caller
//     closes the connection.
//
// Every error wraps one of the package's sentinel errors; Reason maps an
// error to a short, stable label for counters.
package zmtp
