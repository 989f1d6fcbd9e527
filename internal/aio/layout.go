package aio

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Host names of the all-in-one's processes: neutron-1..N, compute-1..N.
const (
	neutronFmt = "neutron-%d"
	computeFmt = "compute-%d"
)

// layout is every port, path and process of one all-in-one run.
type layout struct {
	dataDir    string
	commonPath string            // [df] settings every process shares (also for dfctl)
	restAddr   string            // the first neutron server's REST API
	restAddrs  map[string]string // REST API by neutron host
	socket     string            // the publisher service's IPC socket
	children   []*Process
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
func plan(o Options, dbEndpoints []string, bins map[string]string) (*layout, error) {
	l := &layout{dataDir: o.DataDir, restAddr: o.RestListen, restAddrs: map[string]string{}}
	for _, d := range []string{"conf", "logs", "run"} {
		if err := os.MkdirAll(filepath.Join(o.DataDir, d), 0o755); err != nil {
			return nil, fmt.Errorf("--data-dir: %w", err)
		}
	}
	l.socket = filepath.Join(o.DataDir, "run", "publisher.sock")
	driver := o.PubSubDriver
	multiproc := driver == "zmq"
	l.commonPath = filepath.Join(o.DataDir, "dragonflow.ini")
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
%s%s
[neutron]
publisher_binding_address = 127.0.0.1
pub_sub_use_multiproc = %s
publisher_multiproc_socket = %s

[controller]
publisher_binding_address = 127.0.0.1
`, time.Now().Format(time.RFC3339), strings.Join(dbEndpoints, ","), driver,
		int(o.PublisherTimeout/time.Second), pyBool(o.Selective), dbSyncLine(o.DBSyncTime), o.ExtraDF,
		pyBool(multiproc), l.socket)
	if err := os.WriteFile(l.commonPath, []byte(common), 0o644); err != nil {
		return nil, fmt.Errorf("write %s: %w", l.commonPath, err)
	}

	add := func(name, role, host, bin, body string, extra ...string) error {
		path := filepath.Join(o.DataDir, "conf", name+".ini")
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		args := []string{"--config-file", l.commonPath}
		for _, f := range o.ConfigFiles {
			args = append(args, "--config-file", f)
		}
		args = append(args, "--config-file", path)
		args = append(args, extra...)
		c := &Process{name: name, role: role, host: host, bin: bins[bin], args: args,
			logPath: filepath.Join(o.DataDir, "logs", name+".log")}
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
		host := fmt.Sprintf(neutronFmt, 1)
		if err := add("publisher-service", "publisher-service", host, binPublisherService, fmt.Sprintf(
			"[DEFAULT]\nhost = %s\n[neutron]\npublisher_port = %d\npublisher_service_admin_listen = %s\n",
			host, pubPort, adminAddr)); err != nil {
			return nil, err
		}
		l.children[len(l.children)-1].admin = adminAddr
	}
	for i := 1; i <= o.NeutronServers; i++ {
		host := fmt.Sprintf(neutronFmt, i)
		rest := o.RestListen
		if i > 1 {
			var err error
			if rest, err = freeAddr(); err != nil {
				return nil, err
			}
		}
		l.restAddrs[host] = rest
		pubPort, err := freePort()
		if err != nil {
			return nil, err
		}
		adminAddr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		name := "neutron-server"
		if o.NeutronServers > 1 {
			name = host
		}
		if err := add(name, "neutron-server", host, binNeutronServer, fmt.Sprintf(
			"[DEFAULT]\nhost = %s\n[neutron]\npublisher_port = %d\napi_listen = %s\napi_workers = %d\nadmin_listen = %s\n",
			host, pubPort, rest, o.APIWorkers, adminAddr)); err != nil {
			return nil, err
		}
		l.children[len(l.children)-1].admin = adminAddr
	}
	for i := 1; i <= o.Controllers; i++ {
		host := fmt.Sprintf(computeFmt, i)
		pubPort, err := freePort()
		if err != nil {
			return nil, err
		}
		adminAddr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		var extra []string
		if o.ControllerArgs != nil {
			extra = o.ControllerArgs(host)
		}
		if err := add(host, "local-controller", host, binLocalController, fmt.Sprintf(
			"[DEFAULT]\nhost = %s\n[controller]\npublisher_port = %d\nadmin_listen = %s\n",
			host, pubPort, adminAddr), extra...); err != nil {
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
func (l *layout) controllers() []*Process {
	var cs []*Process
	for _, c := range l.children {
		if c.role == "local-controller" {
			cs = append(cs, c)
		}
	}
	return cs
}

// byName finds a child.
func (l *layout) byName(name string) *Process {
	for _, c := range l.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

func dbSyncLine(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return fmt.Sprintf("db_sync_time = %d\n", max(1, int(d/time.Second)))
}
