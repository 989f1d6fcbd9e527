package faults

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/config"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb/memory"
	"github.com/dragonflow-go/dragonflow/nbapi"
	"github.com/dragonflow-go/dragonflow/neutron"
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq"
)

func sumCounts(m map[string]uint64) uint64 {
	var n uint64
	for _, v := range m {
		n += v
	}
	return n
}

// badBody returns a malformed msgpack body of kind i%4: random bytes, a
// truncated valid body, a valid body with one byte flipped (which may
// still decode), or a str32 header claiming 4 GiB.
func badBody(r *rand.Rand, valid []byte, i int) (b []byte, mustFail bool) {
	switch i % 4 {
	case 0:
		b = make([]byte, r.IntN(64))
		for j := range b {
			b[j] = byte(r.UintN(256))
		}
		return b, false
	case 1:
		return valid[:r.IntN(len(valid))], true
	case 2:
		b = bytes.Clone(valid)
		b[r.IntN(len(b))] ^= byte(1 + r.UintN(255))
		return b, false
	default:
		return append([]byte{0x81, 0xdb, 0xff, 0xff, 0xff, 0xff}, valid[:r.IntN(len(valid))]...), true
	}
}

// Scenario 7: malformed input at the decoders, at a PUB, a SUB and a PULL
// over real sockets, and at the REST API: no crash, no goroutine leak
// (VerifyTestMain), every rejection counted.
func TestMalformedInput(t *testing.T) {
	const (
		pubConns      = 400
		subBodies     = 3000
		pullBodies    = 3000
		restRequests  = 2000
		decoderInputs = 1_000_000 - pubConns - subBodies - pullBodies - restRequests
	)
	began := time.Now()
	r := rand.New(rand.NewPCG(7, 7))
	valid := model.EncodeBody(model.DbUpdate{Table: "lport", Key: "p1", Action: "create", Topic: "D",
		Value: []byte(`{"id":"p1","topic":"D","version":1}`)}, model.Meta{PublisherID: "x", Epoch: 1, Seq: 1}, model.WireV2)

	// 1. The body decoder in-process.
	var rejected, accepted, mustFail int
	for i := range decoderInputs {
		b, fail := badBody(r, valid, i)
		_, _, err := model.DecodeBody(b)
		switch {
		case err != nil:
			rejected++
			require.ErrorIs(t, err, model.ErrMalformed)
		case fail:
			t.Fatalf("input %d (%x) decoded but must not", i, b)
		default:
			accepted++
		}
		if fail {
			mustFail++
		}
	}
	decoderTook := time.Since(began)

	// 2. A PUB: hostile connections.
	pubAny, err := zmq.New(zmq.WithHandshakeTimeout(2*time.Second)).NewPublisher(t.Context(), pubsub.PublisherConfig{
		ID: "hostile-pub", Epoch: 1, ListenURI: "tcp://127.0.0.1:0"})
	require.NoError(t, err)
	defer pubAny.Close()
	pub := pubsub.Unwrap(pubAny).(*zmq.Publisher)
	pubAddr := strings.TrimPrefix(pub.Info().URI, "tcp://")
	hostile := func(i int) []byte {
		switch i % 4 {
		case 0: // garbage instead of a greeting
			b := make([]byte, 64)
			for j := range b {
				b[j] = byte(r.UintN(256))
			}
			b[0] = 0x00
			return b
		case 1: // unknown mechanism
			g := zmtpGreeting()
			copy(g[12:32], "BOGUS\x00\x00\x00")
			return g
		case 2: // a frame claiming 1 TiB after the handshake
			return append(append(zmtpGreeting(), zmtpReady("SUB", "")...), 0x02, 0, 0, 1, 0, 0, 0, 0, 0)
		default: // a message before READY
			return append(zmtpGreeting(), 0x00, 0x03, 'a', 'b', 'c')
		}
	}
	var wg sync.WaitGroup
	var pubConnsDone atomic.Int64
	for w := range 8 {
		var inputs [][]byte
		for i := w; i < pubConns; i += 8 {
			inputs = append(inputs, hostile(i))
		}
		wg.Go(func() {
			for _, in := range inputs {
				conn, err := net.DialTimeout("tcp", pubAddr, 5*time.Second)
				if err != nil {
					continue
				}
				_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
				_, _ = conn.Write(in)
				_, _ = io.Copy(io.Discard, conn) // until the PUB closes it
				conn.Close()
				pubConnsDone.Add(1)
			}
		})
	}
	wg.Wait()
	require.EqualValues(t, pubConns, pubConnsDone.Load(), "every hostile connection was closed by the PUB")
	require.Eventually(t, func() bool { return sumCounts(pub.Stats().Rejected) >= pubConns }, 10*time.Second, 5*time.Millisecond,
		"every hostile peer counted: %v", pub.Stats().Rejected)
	pubRejected := pub.Stats().Rejected

	// 3. A SUB connected to a hostile PUB that sends bad bodies.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	var gaps atomic.Int64
	subAny, err := zmq.New(zmq.WithBackoff(10*time.Millisecond, 50*time.Millisecond)).NewSubscriber(t.Context(), pubsub.SubscriberConfig{
		Topics: []string{"D"}, OnEvent: func(pubsub.Event) {}, OnGap: func(pubsub.Gap) { gaps.Add(1) }})
	require.NoError(t, err)
	defer subAny.Close()
	sub := subAny.(*zmq.Subscriber)
	require.NoError(t, sub.RegisterPublisher(pubsub.Endpoint{PublisherID: "hostile", URI: "tcp://" + ln.Addr().String()}))
	conn, err := ln.Accept()
	require.NoError(t, err)
	serveHostile(t, conn, "PUB", func(w *bufio.Writer) {
		for i := range subBodies {
			b, _ := badBody(r, valid, i)
			if _, _, err := model.DecodeBody(b); err == nil {
				b = []byte{0xc1} // never valid msgpack
			}
			w.Write([]byte{0x01, 1, 'D'}) // topic frame, more
			writeFrame(w, b)
		}
	})
	require.Eventually(t, func() bool { return sub.Stats().DecodeErrors >= subBodies }, 20*time.Second, 5*time.Millisecond,
		"the SUB counts every bad body: %+v", sub.Stats())
	// then an oversized frame: the SUB drops that connection, counted.
	_, _ = conn.Write([]byte{0x02, 0, 0, 1, 0, 0, 0, 0, 0})
	require.Eventually(t, func() bool { return sumCounts(sub.Stats().Rejected) >= 1 }, 10*time.Second, 5*time.Millisecond,
		"%+v", sub.Stats().Rejected)
	conn.Close()
	require.NoError(t, sub.UnregisterPublisher("hostile"))
	subStats := sub.Stats()

	// 4. A PULL: a hostile PUSH sends bad bodies.
	pull, err := zmq.New().NewPull(t.Context(), "tcp://127.0.0.1:0", pubsub.SubscriberConfig{OnEvent: func(pubsub.Event) {}})
	require.NoError(t, err)
	defer pull.Close()
	pc, err := net.Dial("tcp", strings.TrimPrefix(pull.URI(), "tcp://"))
	require.NoError(t, err)
	defer pc.Close()
	clientHostile(t, pc, "PUSH", func(w *bufio.Writer) {
		for i := range pullBodies {
			b, _ := badBody(r, valid, i)
			if _, _, err := model.DecodeBody(b); err == nil {
				b = []byte{0xc1}
			}
			w.Write([]byte{0x01, 1, 'D'})
			writeFrame(w, b)
		}
	})
	require.Eventually(t, func() bool { return pull.Stats().DecodeErrors >= pullBodies }, 20*time.Second, 5*time.Millisecond,
		"the PULL counts every bad body: %+v", pull.Stats())
	pullStats := pull.Stats()

	// 5. The REST API (neutron.NewAPI in-process on a memory NB DB).
	db := memory.New()
	defer db.Close()
	cfg := config.New(nil)
	nbAPI, err := nbapi.New(t.Context(), cfg, config.RoleNeutronServer, nbapi.WithDB(db), nbapi.WithoutPublisher())
	require.NoError(t, err)
	defer nbAPI.Close()
	api, err := neutron.NewAPI(neutron.APIConfig{Nb: nbAPI})
	require.NoError(t, err)
	srv := httptest.NewServer(api)
	defer srv.Close()
	client := srv.Client()
	bodies := []string{`{`, `{"network":`, `{"network": 5}`, `{"network": {"name": 7}}`, `[]`, `null`,
		`{"port": {"network_id": "nope"}}`, strings.Repeat("[", 100000), `{"network": {"name": "` + strings.Repeat("x", 3<<20) + `"}}`}
	paths := []string{"/v2.0/networks", "/v2.0/ports", "/v2.0/subnets", "/v2.0/nosuch", "/v2.0/networks/no-such-id"}
	codes := map[int]int{}
	for i := range restRequests {
		var body string
		if i%10 == 9 {
			b := make([]byte, 200)
			for j := range b {
				b[j] = byte(r.UintN(256))
			}
			body = string(b)
		} else {
			body = bodies[i%len(bodies)]
		}
		req, err := http.NewRequestWithContext(t.Context(), []string{http.MethodPost, http.MethodPut}[i%2],
			srv.URL+paths[i%len(paths)], strings.NewReader(body))
		if err != nil { // a path the client refuses to send
			codes[-1]++
			continue
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		codes[resp.StatusCode]++
		require.Less(t, resp.StatusCode, 500, "%s %s: %d", req.Method, req.URL.Path, resp.StatusCode)
		require.GreaterOrEqual(t, resp.StatusCode, 400)
	}
	var counted uint64
	for _, rc := range api.Stats().Snapshot().Requests {
		if rc.Code >= 400 {
			counted += rc.Count
		}
	}
	sent := restRequests - codes[-1]
	require.EqualValues(t, sent, counted, "every rejected request counted by the API's stats")
	client.CloseIdleConnections()

	total := decoderInputs + pubConns + subBodies + pullBodies + restRequests
	report(t, result{scenario: "7 malformed input", written: 0, consistent: time.Since(began), extra: []string{
		fmt.Sprintf("%d inputs in all, in %s", total, time.Since(began).Round(time.Millisecond)),
		fmt.Sprintf("model.DecodeBody in-process: %d random/truncated/bit-flipped/oversized-str32 bodies in %s: %d rejected (ErrMalformed), %d decoded (bit flips that stay valid), all %d truncated/oversized rejected",
			decoderInputs, decoderTook.Round(time.Millisecond), rejected, accepted, mustFail),
		fmt.Sprintf("zmq PUB over TCP: %d hostile connections (garbage greeting, unknown mechanism, 1 TiB frame, message before READY), all closed; Stats().Rejected=%v", pubConns, pubRejected),
		fmt.Sprintf("zmq SUB over TCP: %d bad bodies from a hostile PUB then a 1 TiB frame: DecodeErrors=%d BadMessages=%d Rejected=%v gaps=%d", subBodies, subStats.DecodeErrors, subStats.BadMessages, subStats.Rejected, gaps.Load()),
		fmt.Sprintf("zmq PULL over TCP: %d bad bodies from a hostile PUSH: DecodeErrors=%d BadMessages=%d", pullBodies, pullStats.DecodeErrors, pullStats.BadMessages),
		fmt.Sprintf("REST (neutron.NewAPI, httptest): %d malformed requests, status codes %v, every one counted in the API's request stats (no 5xx)", restRequests, codes),
	}})
}

func writeFrame(w *bufio.Writer, b []byte) {
	if len(b) < 256 {
		w.Write([]byte{0x00, byte(len(b))})
	} else {
		var h [9]byte
		h[0] = 0x02
		binary.BigEndian.PutUint64(h[1:], uint64(len(b)))
		w.Write(h[:])
	}
	w.Write(b)
}

// serveHostile does the server side of a ZMTP handshake as socketType,
// then runs send.
func serveHostile(t *testing.T, conn net.Conn, socketType string, send func(*bufio.Writer)) {
	t.Helper()
	clientHostile(t, conn, socketType, send)
}

// clientHostile does a ZMTP NULL handshake as socketType (both sides
// send greeting and READY first, so one function serves both), then runs
// send and flushes.
func clientHostile(t *testing.T, conn net.Conn, socketType string, send func(*bufio.Writer)) {
	t.Helper()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	_, err := conn.Write(append(zmtpGreeting(), zmtpReady(socketType, "")...))
	require.NoError(t, err)
	br := bufio.NewReader(conn)
	peer := make([]byte, 64)
	_, err = io.ReadFull(br, peer)
	require.NoError(t, err)
	hdr := make([]byte, 2)
	_, err = io.ReadFull(br, hdr)
	require.NoError(t, err)
	_, err = io.ReadFull(br, make([]byte, hdr[1]))
	require.NoError(t, err)
	w := bufio.NewWriter(conn)
	send(w)
	require.NoError(t, w.Flush())
	require.NoError(t, conn.SetDeadline(time.Time{}))
}
