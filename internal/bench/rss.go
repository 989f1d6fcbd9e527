package bench

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// runRSS is scenario c: a child process hosts 1, then Subs subscribers of
// tr while the publisher paces 1k ev/s for the window; the child's VmRSS is
// read after the traffic. Per subscriber = (RSS_N − RSS_1) ÷ (N − 1).
// Counts and loss add up both steps; rates are the N step's.
func runRSS(ctx context.Context, o *Options, tr Transport) (Result, error) {
	res := Result{Subs: o.Subs, Rate: rateFanout}
	one, err := rssStep(ctx, o, tr, 1, &res)
	if err != nil {
		return res, fmt.Errorf("1 subscriber: %w", err)
	}
	many, err := rssStep(ctx, o, tr, o.Subs, &res)
	if err != nil {
		return res, fmt.Errorf("%d subscribers: %w", o.Subs, err)
	}
	res.RSS = &RSSResult{Subs: o.Subs, One: one, Many: many, PerSub: float64(many.RSS-one.RSS) / float64(max(1, o.Subs-1))}
	return res, nil
}

// rssStep runs one child with n subscribers and adds its counts to res.
func rssStep(ctx context.Context, o *Options, tr Transport, n int, res *Result) (ProcStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout+o.Window+o.Drain+time.Minute)
	defer cancel()
	pub, err := tr.StartPublisher(ctx)
	if err != nil {
		return ProcStatus{}, err
	}
	s := &Session{pub: pub}
	child, err := startChild(ctx, o.Child, ChildSpec{Transport: tr.Name(), Addr: pub.Addr(), Subs: n})
	if err != nil {
		return ProcStatus{}, errors.Join(err, s.Close())
	}
	st, err := rssTraffic(ctx, o, s, child, n, res)
	return st, errors.Join(err, child.Close(), s.Close())
}

// rssTraffic warms the child's subscribers up, paces the window, waits for
// stragglers and reads the child's status.
func rssTraffic(ctx context.Context, o *Options, s *Session, child *childProc, n int, res *Result) (ProcStatus, error) {
	err := s.warmUp(ctx, func() (bool, error) {
		st, err := child.Stats()
		return st.Ready == n, err
	}, o.Settle)
	if err != nil {
		return ProcStatus{}, err
	}
	start := time.Now()
	if err := s.Pace(ctx, rateFanout, start.Add(o.Window)); err != nil {
		return ProcStatus{}, err
	}
	elapsed := time.Since(start)
	inWindow, err := child.Stats()
	if err != nil {
		return ProcStatus{}, err
	}
	want := s.Sent() * uint64(n)
	if err := drain(ctx, want, func() (uint64, error) {
		st, err := child.Stats()
		return st.Received, err
	}, o.Drain); err != nil {
		return ProcStatus{}, err
	}
	ps, err := readProcStatus(child.Pid())
	if err != nil {
		return ProcStatus{}, err
	}
	final, err := child.Stats()
	if err != nil {
		return ProcStatus{}, err
	}
	res.Window = elapsed.Seconds()
	res.Sent += s.Sent()
	res.PublishTimeouts += s.PublishTimeouts()
	res.PublishRate = float64(s.Sent()) / res.Window
	res.InWindow = inWindow.Received
	res.DeliveryRate = float64(inWindow.Received) / res.Window
	res.setDeliveries(res.Expected+want, res.Received+final.Received)
	res.Gaps += final.Gaps
	res.GapLost += final.GapLost
	return ps, nil
}
