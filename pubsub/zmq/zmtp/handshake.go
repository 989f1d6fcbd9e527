package zmtp

import (
	"fmt"
	"io"
	"strings"
)

// Socket types.
const (
	PUB  = "PUB"
	SUB  = "SUB"
	XPUB = "XPUB"
	XSUB = "XSUB"
	PUSH = "PUSH"
	PULL = "PULL"
)

// Compatible reports whether a socket of type local may talk to a peer of
// type peer (RFC 23 §"The Socket Types", restricted to the patterns this
// package serves).
func Compatible(local, peer string) bool {
	switch local {
	case PUB, XPUB:
		return peer == SUB || peer == XSUB
	case SUB, XSUB:
		return peer == PUB || peer == XPUB
	case PUSH:
		return peer == PULL
	case PULL:
		return peer == PUSH
	}
	return false
}

// Peer is what the handshake learnt about the other side.
type Peer struct {
	Greeting
	SocketType string
	Identity   string
	Metadata   Metadata
}

// Handshake runs the NULL handshake over rw, reading through r (which must
// wrap rw's read side and is then used for the rest of the connection). It
// writes this side's greeting and READY (Socket-Type socketType, then props)
// in one write, reads and checks the peer's greeting and READY, and checks
// the socket types are compatible. On a refusal after the greeting it sends
// an ERROR command (best effort). The caller sets deadlines on the
// connection and closes it on error.
func Handshake(rw io.Writer, r *Reader, socketType string, props ...Property) (Peer, error) {
	out := AppendGreeting(make([]byte, 0, GreetingSize+128))
	all := append([]Property{{PropSocketType, socketType}}, props...)
	out = AppendReady(out, all...)
	if _, err := rw.Write(out); err != nil {
		return Peer{}, fmt.Errorf("zmtp: write greeting: %w", err)
	}
	sig, err := r.ReadFull(SignatureSize)
	if err != nil {
		return Peer{}, fmt.Errorf("zmtp: read greeting: %w", truncated(err))
	}
	if err := CheckSignature(sig); err != nil {
		return Peer{}, err
	}
	var g [GreetingSize]byte
	copy(g[:], sig)
	rest, err := r.ReadFull(GreetingSize - SignatureSize)
	if err != nil {
		return Peer{}, fmt.Errorf("zmtp: read greeting: %w", truncated(err))
	}
	copy(g[SignatureSize:], rest)
	greet, err := ParseGreeting(g[:])
	if err != nil {
		return Peer{}, err
	}
	p := Peer{Greeting: greet}
	f, err := r.ReadFrame()
	if err != nil {
		return p, fmt.Errorf("zmtp: read READY: %w", truncated(err))
	}
	if !f.IsCommand() {
		return p, refuse(rw, fmt.Errorf("%w: a message before READY", ErrHandshake))
	}
	c, err := ParseCommand(f.Body)
	if err != nil {
		return p, refuse(rw, err)
	}
	switch c.Name {
	case CmdReady:
	case CmdError:
		return p, fmt.Errorf("%w: %q", ErrPeerError, ParseError(c.Data))
	default:
		return p, refuse(rw, fmt.Errorf("%w: %q before READY", ErrHandshake, c.Name))
	}
	if err := p.setMetadata(c.Data, socketType); err != nil {
		return p, refuse(rw, err)
	}
	return p, nil
}

// setMetadata decodes the peer's READY properties (NULL: the READY command;
// CURVE: the INITIATE or READY box) and checks that a socket of type
// socketType may talk to it.
func (p *Peer) setMetadata(data []byte, socketType string) error {
	md, err := ParseMetadata(data)
	if err != nil {
		return err
	}
	p.Metadata = md
	p.SocketType = strings.ToUpper(md.Get(PropSocketType))
	p.Identity = md.Get(PropIdentity)
	if len(p.Identity) > maxIdentity {
		return fmt.Errorf("%w: identity of %d bytes", ErrHandshake, len(p.Identity))
	}
	if !Compatible(socketType, p.SocketType) {
		return fmt.Errorf("%w: %s cannot talk to %q", ErrSocketType, socketType, p.SocketType)
	}
	return nil
}

// refuse sends the peer an ERROR command naming err (best effort) and
// returns err.
func refuse(w io.Writer, err error) error {
	_, _ = w.Write(AppendError(nil, err.Error()))
	return err
}
