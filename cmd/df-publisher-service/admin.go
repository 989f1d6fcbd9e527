package main

import (
	"os"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dragonflow-go/dragonflow/config"
	"github.com/dragonflow-go/dragonflow/internal/admin"
	"github.com/dragonflow-go/dragonflow/pubservice"
)

// serveAdmin exposes the service's counters on /status and /metrics and
// starts the admin endpoint.
func serveAdmin(adm *admin.Server, svc *pubservice.Service, s config.RoleSettings) {
	info := svc.Info()
	adm.SetStatus(func() admin.Status {
		st := svc.Stats()
		var gaps uint64
		for _, n := range st.Gaps {
			gaps += n
		}
		return admin.Status{
			Role: string(config.RolePublisherService), Host: s.Host, PID: os.Getpid(),
			PublisherID: info.ID, PublisherURI: info.URI, Ready: true,
			EventsIn:  st.Pull.Delivered,
			EventsOut: st.Relayed + st.TableEvents + st.Markers,
			Gaps:      gaps, Resyncs: st.Markers,
			Detail: map[string]any{
				"subscribers": svc.Subscribers(), "workers": st.Origins, "gaps_by_reason": st.Gaps,
				"table_events": st.TableEvents, "table_relists": st.TableRelists,
				"dropped": st.Pub.Dropped, "ipc": svc.SocketURI(),
			},
		}
	})
	labels := prometheus.Labels{"role": string(config.RolePublisherService), "driver": "zmq"}
	counter := func(name, help string, f func(pubservice.Stats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels},
			func() float64 { return float64(f(svc.Stats())) })
	}
	adm.Registry().MustRegister(
		counter("df_pubservice_worker_events_received_total", "Events received from neutron-server workers over IPC.",
			func(st pubservice.Stats) uint64 { return st.Pull.Delivered }),
		counter("df_events_published_total", "Events published on the network (worker events, table relays, resync markers).",
			func(st pubservice.Stats) uint64 { return st.Relayed + st.TableEvents + st.Markers }),
		counter("df_pubservice_resync_markers_total", "Resync markers published for losses on the worker hop.",
			func(st pubservice.Stats) uint64 { return st.Markers }),
		counter("df_pubservice_table_events_total", "NB table changes relayed (chassis, publisher, activeport).",
			func(st pubservice.Stats) uint64 { return st.TableEvents }),
		counter("df_publisher_dropped_total", "Events dropped on subscriber connections whose queue was full.",
			func(st pubservice.Stats) uint64 { return st.Pub.Dropped }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "df_publisher_subscribers", Help: "Subscriber connections.",
			ConstLabels: labels}, func() float64 { return float64(svc.Subscribers()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "df_publisher_registered",
			Help: "1 while the service's publisher holds a live registration in the NB DB.", ConstLabels: labels},
			func() float64 {
				if svc.Registered() {
					return 1
				}
				return 0
			}),
	)
	adm.Serve()
}
