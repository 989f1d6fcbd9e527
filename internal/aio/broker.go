package aio

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// startBroker starts the server a broker pub/sub driver needs — nats-server
// or redis-server from PATH (Debian: apt-get install nats-server
// redis-server) — on a free loopback port, and points [df] pub_sub_hosts at
// it. zmq needs none; etcd uses the embedded NB DB itself.
func (a *AIO) startBroker(ctx context.Context) error {
	var name string
	var args func(port int) []string
	switch a.opts.PubSubDriver {
	case "nats":
		name = "nats-server"
		args = func(p int) []string { return []string{"-a", "127.0.0.1", "-p", strconv.Itoa(p)} }
	case "redis":
		name = "redis-server"
		args = func(p int) []string {
			return []string{"--port", strconv.Itoa(p), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
				"--dir", a.opts.DataDir}
		}
	default:
		return nil
	}
	bin, err := exec.LookPath(name)
	if err != nil {
		if p := "/usr/sbin/" + name; fileExists(p) {
			bin = p
		} else {
			return fmt.Errorf("--pub-sub-driver %s needs %s on PATH (apt-get install %s): %w", a.opts.PubSubDriver, name, name, err)
		}
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	if err := mkdirLogs(a.opts.DataDir); err != nil {
		return err
	}
	a.broker = &Process{name: name, role: "broker", bin: bin, args: args(port),
		logPath: filepath.Join(a.opts.DataDir, "logs", name+".log")}
	if err := a.broker.start(); err != nil {
		return err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if msg, ok := a.broker.exitError(); ok {
			return fmt.Errorf("%s exited: %s; log %s:\n%s", name, msg, a.broker.logPath, a.broker.logTail(10))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s does not accept connections on %s after 10s", name, addr)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	a.opts.ExtraDF = "pub_sub_hosts = " + addr + "\n"
	fmt.Fprintf(a.out, "df-aio: started %s on %s for --pub-sub-driver %s\n", name, addr, a.opts.PubSubDriver)
	return nil
}

func mkdirLogs(dataDir string) error {
	return mkdirAll(filepath.Join(dataDir, "logs"))
}
