package zmq

// CURVE: authenticated, encrypted connections (ZMTP-CURVE, RFC 25/26), as
// libzmq's ZMQ_CURVE_SERVER / ZMQ_CURVE_SERVERKEY sockets speak them.
//
// Roles follow the direction of the connection: the sockets that bind (PUB,
// PULL) are CURVE servers, the sockets that connect (SUB, PUSH) are CURVE
// clients. A server holds its secret key and an allow-list of client
// permanent public keys; a client holds its key pair and the server's
// public key. Once a driver has a CURVE option, every socket it builds uses
// CURVE: a socket whose role has no keys fails to build (never a silent
// NULL fallback), and a peer speaking NULL, or CURVE with the wrong keys, is
// refused before READY, counted under Stats().Rejected ("mechanism",
// "curve_auth", "curve_crypto", "peer_error" on the client told by an
// ERROR) and logged with its address; the ERROR and the logs name the
// client's public key, never a secret.
//
// Hooks, the only places the rest of the package knows about CURVE:
// options.curve (options.go); secure, where a connection's net.Conn is set
// up (pub.go serve, subconn.go newConn); handshake, which picks the
// mechanism (pub.go serve, subconn.go handshake); curveCheck, when a socket
// is built (driver.go). After the handshake the data path reads and writes
// plain ZMTP frames through curveConn, which carries them as MESSAGE
// commands (zmtp.CurveStream).

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"slices"

	"golang.org/x/crypto/nacl/box"

	"github.com/dragonflow-go/dragonflow/pubsub/zmq/zmtp"
)

// ErrCurveConfig is wrapped by the error a socket constructor returns when
// the driver's CURVE options are invalid or miss the socket's role.
var ErrCurveConfig = errors.New("zmq: CURVE configuration")

// curveConfig is the driver's CURVE setup; err is the first invalid option.
type curveConfig struct {
	server *zmtp.CurveServerKeys
	client *zmtp.CurveClientKeys
	err    error
}

func (o *options) curveConf() *curveConfig {
	if o.curve == nil {
		o.curve = &curveConfig{}
	}
	return o.curve
}

// WithCurveServer makes the sockets that bind (PUB, PULL) CURVE servers
// with the secret key secretKey, accepting only clients whose permanent
// public key is in allowedClientKeys (keys as 40-character Z85 text, as
// zmq.curve_keypair() or GenerateCurveKeyPair give them). An invalid key,
// or an empty allow-list, makes the socket constructors fail.
func WithCurveServer(secretKey string, allowedClientKeys []string) Option {
	return func(o *options) {
		c := o.curveConf()
		secret, err := zmtp.ParseCurveKey(secretKey)
		if err != nil {
			c.setErr(fmt.Errorf("%w: server secret key: %w", ErrCurveConfig, err))
			return
		}
		public, err := zmtp.CurvePublicKey(secret)
		if err != nil {
			c.setErr(fmt.Errorf("%w: server secret key: %w", ErrCurveConfig, err))
			return
		}
		if len(allowedClientKeys) == 0 {
			c.setErr(fmt.Errorf("%w: no allowed client keys: every client would be refused", ErrCurveConfig))
			return
		}
		allowed := make([]zmtp.CurveKey, 0, len(allowedClientKeys))
		for i, s := range allowedClientKeys {
			k, err := zmtp.ParseCurveKey(s)
			if err != nil {
				c.setErr(fmt.Errorf("%w: allowed client key %d: %w", ErrCurveConfig, i+1, err))
				return
			}
			allowed = append(allowed, k)
		}
		c.server = &zmtp.CurveServerKeys{Secret: secret, Public: public,
			Authorize: func(k zmtp.CurveKey) bool { return k.KeyIn(allowed) }}
	}
}

// WithCurveClient makes the sockets that connect (SUB, PUSH) CURVE clients
// with the key pair (secretKey, publicKey), talking only to servers holding
// the secret key of serverKey (Z85 text). An invalid key, or a public key
// that is not secretKey's, makes the socket constructors fail.
func WithCurveClient(secretKey, publicKey, serverKey string) Option {
	return func(o *options) {
		c := o.curveConf()
		var k zmtp.CurveClientKeys
		var err error
		if k.Secret, err = zmtp.ParseCurveKey(secretKey); err != nil {
			c.setErr(fmt.Errorf("%w: client secret key: %w", ErrCurveConfig, err))
			return
		}
		if k.Public, err = zmtp.ParseCurveKey(publicKey); err != nil {
			c.setErr(fmt.Errorf("%w: client public key: %w", ErrCurveConfig, err))
			return
		}
		if k.Server, err = zmtp.ParseCurveKey(serverKey); err != nil {
			c.setErr(fmt.Errorf("%w: server public key: %w", ErrCurveConfig, err))
			return
		}
		if derived, err := zmtp.CurvePublicKey(k.Secret); err != nil || derived != k.Public {
			c.setErr(fmt.Errorf("%w: the client public key is not the secret key's", ErrCurveConfig))
			return
		}
		c.client = &k
	}
}

func (c *curveConfig) setErr(err error) {
	if c.err == nil {
		c.err = err
	}
}

// GenerateCurveKeyPair returns a new CURVE permanent key pair as Z85 text
// (40 characters each), like zmq.curve_keypair().
func GenerateCurveKeyPair() (publicKey, secretKey string, err error) {
	pub, sec, err := box.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("zmq: CURVE key pair: %w", err)
	}
	defer clear(sec[:])
	return zmtp.CurveKey(*pub).Z85(), zmtp.CurveKey(*sec).Z85(), nil
}

// CurvePublicKey returns the Z85 public key of a Z85 secret key (for a
// server's operator, who configures only the secret key and hands the
// public one to clients).
func CurvePublicKey(secretKey string) (string, error) {
	secret, err := zmtp.ParseCurveKey(secretKey)
	if err != nil {
		return "", fmt.Errorf("zmq: CURVE secret key: %w", err)
	}
	pub, err := zmtp.CurvePublicKey(secret)
	if err != nil {
		return "", err
	}
	return pub.Z85(), nil
}

// isCurveServer reports the CURVE role of a socket type: the binding ones
// are servers.
func isCurveServer(socketType string) bool {
	return slices.Contains([]string{zmtp.PUB, zmtp.XPUB, zmtp.PULL}, socketType)
}

// curveCheck (hook, driver.go) fails when CURVE is configured but invalid
// or without keys for a socket of socketType; nil without CURVE.
func (o *options) curveCheck(socketType string) error {
	c := o.curve
	switch {
	case c == nil:
		return nil
	case c.err != nil:
		return c.err
	case isCurveServer(socketType) && c.server == nil:
		return fmt.Errorf("%w: a %s binds and is a CURVE server: it needs WithCurveServer", ErrCurveConfig, socketType)
	case !isCurveServer(socketType) && c.client == nil:
		return fmt.Errorf("%w: a %s connects and is a CURVE client: it needs WithCurveClient", ErrCurveConfig, socketType)
	}
	return nil
}

// secure (hook) returns the net.Conn the connection uses: nc itself without
// CURVE, else the encrypting layer over nc.
func (o *options) secure(nc net.Conn) net.Conn {
	if o.curve == nil {
		return nc
	}
	return &curveConn{Conn: nc, s: zmtp.NewCurveStream(nc, o.maxFrame), cfg: o.curve}
}

// handshake (hook) runs the handshake of the mechanism nc was set up for
// (see secure): NULL through r, or CURVE, after which nc carries plain
// frames and r, which has not read yet, reads them.
func handshake(nc net.Conn, r *zmtp.Reader, socketType string, props ...zmtp.Property) (zmtp.Peer, error) {
	cc, ok := nc.(*curveConn)
	if !ok {
		return zmtp.Handshake(nc, r, socketType, props...)
	}
	var peer zmtp.Peer
	var err error
	switch {
	case isCurveServer(socketType) && cc.cfg.server != nil:
		peer, err = cc.s.ServerHandshake(cc.cfg.server, socketType, props...)
	case !isCurveServer(socketType) && cc.cfg.client != nil:
		peer, err = cc.s.ClientHandshake(cc.cfg.client, socketType, props...)
	default:
		err = fmt.Errorf("%w: no CURVE keys for a %s", ErrCurveConfig, socketType)
	}
	if err != nil && errors.Is(err, zmtp.ErrCurveAuth) {
		err = fmt.Errorf("%w (peer %s)", err, remoteName(nc))
	}
	return peer, err
}

// remoteName is the peer's address for logs ("ipc" for a Unix socket).
func remoteName(nc net.Conn) string {
	if a := nc.RemoteAddr(); a != nil && a.String() != "" && a.String() != "@" {
		return a.String()
	}
	return "ipc:" + nc.LocalAddr().String()
}

// curveConn is a connection secured by CURVE: after the handshake, Read
// returns and Write takes plain ZMTP frames (zmtp.CurveStream); deadlines,
// addresses and Close are the raw connection's.
type curveConn struct {
	net.Conn
	s   *zmtp.CurveStream
	cfg *curveConfig
}

func (c *curveConn) Read(b []byte) (int, error)  { return c.s.Read(b) }
func (c *curveConn) Write(b []byte) (int, error) { return c.s.Write(b) }

// isCurveConn reports whether nc runs CURVE (see secure): after a
// successful client handshake the server has proved it holds the secret
// key of the server public key this side trusts.
func isCurveConn(nc net.Conn) bool {
	_, ok := nc.(*curveConn)
	return ok
}
