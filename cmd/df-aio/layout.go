package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Host names of the all-in-one's processes.
const (
	neutronHost = "controller"
	computeFmt  = "compute-%d"
)

// layout is every port, path and process of one all-in-one run.
type layout struct {
	dataDir    string
	commonPath string // [df] settings every process shares (also for dfctl)
	restAddr   string
	socket     string // the publisher service's IPC socket
	children   []*child
}

// freePort asks the kernel for a free loopback port. A race with another
// program taking it before the daemon binds is possible but harmless: the
// daemon fails and says which port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func freeAddr() (string, error) {
	p, err := freePort()
	if err != nil {
		return "", fmt.Errorf("pick a free loopback port: %w", err)
	}
	return "127.0.0.1:" + strconv.Itoa(p), nil
}

// plan writes the config files and describes the children: the publisher
// service (zmq only: it serves the workers' IPC socket), the neutron server
// with its workers, and the local controllers.
func plan(o options, dbEndpoints []string, bins map[string]string) (*layout, error) {
	l := &layout{dataDir: o.dataDir, restAddr: o.restListen}
	for _, d := range []string{"conf", "logs", "run"} {
		if err := os.MkdirAll(filepath.Join(o.dataDir, d), 0o755); err != nil {
			return nil, fmt.Errorf("--data-dir: %w", err)
		}
	}
	l.socket = filepath.Join(o.dataDir, "run", "publisher.sock")
	driver := o.pubSubDriver
	multiproc := driver == "zmq"
	l.commonPath = filepath.Join(o.dataDir, "dragonflow.ini")
	common := fmt.Sprintf(`# Written by df-aio at %s. Every df-aio process reads it first; pass it to
# dfctl and other tools with --config-file to reach this all-in-one.
[df]
nb_db_driver = etcd
remote_db_hosts = %s
pub_sub_driver = %s
management_ip = 127.0.0.1
publisher_timeout = %d
enable_neutron_notifier = True
enable_selective_topology_distribution = %s
%s
[neutron]
publisher_binding_address = 127.0.0.1
pub_sub_use_multiproc = %s
publisher_multiproc_socket = %s

[controller]
publisher_binding_address = 127.0.0.1
`, time.Now().Format(time.RFC3339), strings.Join(dbEndpoints, ","), driver,
		int(o.publisherTimeout/time.Second), pyBool(o.selective), o.extraDF, pyBool(multiproc), l.socket)
	if err := os.WriteFile(l.commonPath, []byte(common), 0o644); err != nil {
		return nil, fmt.Errorf("write %s: %w", l.commonPath, err)
	}

	add := func(name, role, host, bin, body string, extra ...string) error {
		path := filepath.Join(o.dataDir, "conf", name+".ini")
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		args := []string{"--config-file", l.commonPath}
		for _, f := range o.configFiles {
			args = append(args, "--config-file", f)
		}
		args = append(args, "--config-file", path)
		args = append(args, extra...)
		c := &child{name: name, role: role, host: host, bin: bins[bin], args: args,
			logPath: filepath.Join(o.dataDir, "logs", name+".log")}
		l.children = append(l.children, c)
		return nil
	}

	if multiproc {
		pubPort, err := freePort()
		if err != nil {
			return nil, err
		}
		adminAddr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		if err := add("publisher-service", "publisher-service", neutronHost, binPublisherService, fmt.Sprintf(
			"[DEFAULT]\nhost = %s\n[neutron]\npublisher_port = %d\npublisher_service_admin_listen = %s\n",
			neutronHost, pubPort, adminAddr)); err != nil {
			return nil, err
		}
		l.children[len(l.children)-1].admin = adminAddr
	}
	{
		pubPort, err := freePort()
		if err != nil {
			return nil, err
		}
		adminAddr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		if err := add("neutron-server", "neutron-server", neutronHost, binNeutronServer, fmt.Sprintf(
			"[DEFAULT]\nhost = %s\n[neutron]\npublisher_port = %d\napi_listen = %s\napi_workers = %d\nadmin_listen = %s\n",
			neutronHost, pubPort, o.restListen, o.apiWorkers, adminAddr)); err != nil {
			return nil, err
		}
		l.children[len(l.children)-1].admin = adminAddr
	}
	for i := 1; i <= o.controllers; i++ {
		host := fmt.Sprintf(computeFmt, i)
		pubPort, err := freePort()
		if err != nil {
			return nil, err
		}
		adminAddr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		if err := add(host, "local-controller", host, binLocalController, fmt.Sprintf(
			"[DEFAULT]\nhost = %s\n[controller]\npublisher_port = %d\nadmin_listen = %s\n",
			host, pubPort, adminAddr)); err != nil {
			return nil, err
		}
		l.children[len(l.children)-1].admin = adminAddr
	}
	return l, nil
}

func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// controllers are the local-controller children.
func (l *layout) controllers() []*child {
	var cs []*child
	for _, c := range l.children {
		if c.role == "local-controller" {
			cs = append(cs, c)
		}
	}
	return cs
}

// byName finds a child.
func (l *layout) byName(name string) *child {
	for _, c := range l.children {
		if c.name == name {
			return c
		}
	}
	return nil
}
