package faults

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/config"
	"github.com/dragonflow-go/dragonflow/controller"
	"github.com/dragonflow-go/dragonflow/controller/portsource"
	psfake "github.com/dragonflow-go/dragonflow/controller/portsource/fake"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/nbapi"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

// memHistory is an in-process controller's history, from its hooks, in
// the --history-file line format.
type memHistory struct {
	mu    sync.Mutex
	lines []hline
}

func (h *memHistory) add(l hline) {
	l.T = time.Now()
	h.mu.Lock()
	h.lines = append(h.lines, l)
	h.mu.Unlock()
}

func (h *memHistory) get() []hline {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hline(nil), h.lines...)
}

func (h *memHistory) hooks(cfg *controller.Config) {
	cfg.OnEvent = func(r controller.EventRecord) {
		h.add(hline{Kind: "event", Pub: r.PublisherID, Epoch: r.Epoch, Seq: r.Seq, Topic: r.Topic, Table: r.Table,
			Key: r.Key, Action: r.Action, Version: r.Version, Outcome: string(r.Outcome)})
	}
	cfg.OnGap = func(g pubsub.Gap) {
		h.add(hline{Kind: "gap", Reason: string(g.Reason), Pub: g.PublisherID, Topic: g.Topic})
	}
	cfg.OnResync = func(r controller.ResyncReport) {
		l := hline{Kind: "resync", Topic: r.Topic, Reason: r.Reason, Skipped: r.Skipped, TookNS: int64(r.Duration),
			Delayed: int64(r.Delayed), WaitedNS: int64(r.Waited)}
		if r.Err != nil {
			l.Err = r.Err.Error()
		}
		h.add(l)
	}
}

// inproc is a controller.New in the test process, on the all-in-one's
// NB DB and configuration.
type inproc struct {
	name string
	c    *controller.Controller
	h    *memHistory
}

// startInproc starts a controller of host name with db as its NB DB,
// subscribed to topic through a local port.
func (c *cluster) startInproc(ctx context.Context, name string, db nb.Driver, mod func(*controller.Config)) (*inproc, error) {
	for attempt := 0; ; attempt++ {
		ip, err := c.startInprocOnce(ctx, name, db, mod)
		// [controller] publisher_port takes no 0: a free port picked here
		// may be taken by another process before the controller binds it.
		if err != nil && attempt < 3 && strings.Contains(err.Error(), "address already in use") {
			continue
		}
		return ip, err
	}
}

func (c *cluster) startInprocOnce(ctx context.Context, name string, db nb.Driver, mod func(*controller.Config)) (*inproc, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	extra := filepath.Join(c.dir, name+".ini")
	if err := os.WriteFile(extra, fmt.Appendf(nil, "[DEFAULT]\nhost = %s\n[controller]\npublisher_port = %d\nadmin_listen = 127.0.0.1:0\n", name, port), 0o600); err != nil {
		return nil, err
	}
	cfg, err := config.Load(config.FileList{c.a.ConfigPath(), extra}, nil)
	if err != nil {
		return nil, err
	}
	ip := &inproc{name: name, h: &memHistory{}}
	ccfg := controller.Config{Config: cfg, PortSource: psfake.New(), NbApiOptions: []nbapi.Option{nbapi.WithDB(db)}}
	ip.h.hooks(&ccfg)
	if mod != nil {
		mod(&ccfg)
	}
	ip.c, err = controller.New(ctx, ccfg)
	if err != nil {
		return nil, err
	}
	return ip, nil
}

// portUp makes a local port of topic on ip (creating the lport).
func (c *cluster) portUp(ctx context.Context, ip *inproc, topic string) error {
	id := "local-" + ip.name + "-" + topic
	if err := c.w.api.Create(ctx, &model.LogicalPort{ID: id, Topic: topic, LSwitch: "sw-" + topic, Version: 1, BindingHost: ip.name}); err != nil {
		return err
	}
	_, err := ip.c.PortSource().(*psfake.Source).Set(ctx, id, portsource.StatusUp)
	return err
}

// ---------------------------------------------------------------- proxy

// proxy forwards TCP connections to target until cut: Cut resets every
// open connection and blackholes new ones (accepted, never forwarded)
// until Restore.
type proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

func startProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	p.wg.Go(p.accept)
	t.Cleanup(p.Close)
	return p
}

func (p *proxy) Addr() string { return p.ln.Addr().String() }

func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		return false
	}
	p.conns[c] = true
	return true
}

func (p *proxy) accept() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(in) {
			in.Close()
			return
		}
		p.mu.Lock()
		cut := p.cut
		p.mu.Unlock()
		if cut { // blackhole: held open, never forwarded, reset on Restore or Close
			continue
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		if !p.track(out) {
			in.Close()
			out.Close()
			return
		}
		pipe := func(dst, src net.Conn) {
			_, _ = io.Copy(dst, src)
			reset(dst)
			reset(src)
		}
		p.wg.Go(func() { pipe(out, in) })
		p.wg.Go(func() { pipe(in, out) })
	}
}

// reset closes c with a RST (linger 0), as a broken network path would
// look after a timeout.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

func (p *proxy) resetAll() {
	for c := range p.conns {
		reset(c)
		delete(p.conns, c)
	}
}

// Cut breaks every connection and blackholes new ones.
func (p *proxy) Cut() {
	p.mu.Lock()
	p.cut = true
	p.resetAll()
	p.mu.Unlock()
}

// Restore forwards new connections again (the blackholed ones are reset).
func (p *proxy) Restore() {
	p.mu.Lock()
	p.cut = false
	p.resetAll()
	p.mu.Unlock()
}

func (p *proxy) Close() {
	p.ln.Close()
	p.mu.Lock()
	p.resetAll()
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}

// ---------------------------------------------------------------- rewriting NB DB

// viaProxy is the all-in-one's NB DB as one controller sees it: the
// publisher service's row advertises the proxy's address, so discovery
// connects that controller through the proxy.
type viaProxy struct {
	nb.Driver
	from, to []byte
}

func (d viaProxy) fix(kv nb.KV) nb.KV {
	if kv.Table == model.TablePublisher {
		kv.Value = bytes.ReplaceAll(kv.Value, d.from, d.to)
	}
	return kv
}

func (d viaProxy) Get(ctx context.Context, table, key string) (nb.KV, error) {
	kv, err := d.Driver.Get(ctx, table, key)
	return d.fix(kv), err
}

func (d viaProxy) List(ctx context.Context, table, topic string) ([]nb.KV, int64, error) {
	kvs, rev, err := d.Driver.List(ctx, table, topic)
	for i := range kvs {
		kvs[i] = d.fix(kvs[i])
	}
	return kvs, rev, err
}

func (d viaProxy) Watch(ctx context.Context, table string, fromRev int64) <-chan nb.WatchResponse {
	in := d.Driver.Watch(ctx, table, fromRev)
	if table != model.TablePublisher {
		return in
	}
	out := make(chan nb.WatchResponse)
	go func() { // ends when in closes (ctx canceled, driver closed, error)
		defer close(out)
		for r := range in {
			for i := range r.Events {
				r.Events[i].KV = d.fix(r.Events[i].KV)
				r.Events[i].PrevValue = bytes.ReplaceAll(r.Events[i].PrevValue, d.from, d.to)
			}
			select {
			case out <- r:
			case <-ctx.Done():
				for range in { // drain until the driver closes it
				}
				return
			}
		}
	}()
	return out
}

func (d viaProxy) Close() error { return errors.New("viaProxy: the all-in-one owns the NB DB") }
