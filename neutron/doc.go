// Package neutron is the neutron-server role (design §2): a Neutron
// v2.0-shaped REST API that writes NB objects through the process's NbApi,
// and the port status listener of a host.
//
// # REST API
//
// NewAPI returns an http.Handler serving:
//
//   - GET / (versions), GET /v2.0 (resources), GET /v2.0/extensions[/<alias>]
//     (Extensions: what the openstack CLI checks);
//   - networks, subnets, ports: POST (envelope {"network": {...}}), GET (list
//     with filters, show), PUT, DELETE; fields= on list and show;
//   - GET /v3/projects[/<id>]: an identity stub so that the CLI with
//     auth_type none can resolve --project (see identity.go).
//
// Every write goes through one NbApi (role neutron-server):
// model.LogicalSwitch, model.Subnet and model.LogicalPort with Topic = the
// project id and Version = revision_number. Creates and deletes use
// NbApi.Create/Delete. Updates use a compare-and-swap write of the whole
// object plus a "set" published on the NbApi's publisher (replace in
// store.go), because Neutron's PUT can clear a field (a name, the allowed
// address pairs, the binding host) and NbApi.Update merges only non-zero
// fields; every update moves revision_number, even one that only changes
// side-table attributes. A write whose publish fails (nbapi.ErrNotPublished)
// succeeds for the client: it is logged and counted (APISnapshot.
// PublishFailures); subscribers see the sequence gap and resync.
//
// Neutron attributes the models do not hold — description, created_at,
// updated_at, tags, a network's shared and admin_state_up, a subnet's
// ip_version and allocation_pools — live in the side table TableExtra
// ("neutron_extra", key "<resource>/<id>"), written with the NB DB driver
// and never published. Attributes with a fixed value (binding:vnic_type
// normal, port_security_enabled true, …) are derived. Fixed IPs are the
// port's parallel IPs/Subnets lists; each allocation is also a row of
// TableIPAM ("neutron_ipam", key "<subnet>/<ip>") created with the NB DB's
// create-if-absent, which makes allocation atomic across worker processes.
//
// Projects: a resource's project is project_id or tenant_id from the body
// (they must agree), else the X-Project-Id header, else DefaultProjectID
// ("admin"). Errors are Neutron's {"NeutronError": {"type", "message",
// "detail"}}: 404 <Kind>NotFound, 400 HTTPBadRequest naming the attribute,
// 405 HTTPMethodNotAllowed, 409 NetworkInUse, SubnetInUse,
// IpAddressAlreadyAllocated, IpAddressGenerationFailure, MacAddressInUse.
//
// # Port status listener
//
// StartListener runs the listener of one host in the main process (one per
// host, not per worker). It keeps the row listener/<host> (model.Listener)
// on an NB DB lease of [df] publisher_timeout, rewriting its timestamp at
// every heartbeat; Close revokes the lease. Its subscriber (the NbApi's)
// registers topic listener_<host>, and discovery.Discover connects it to
// the publishers of [neutron] subscribe_roles found in the publisher table.
// The event contract is Dragonflow's: DbUpdate{Table: "lport", Key: <port>,
// Action: "update", Value: "ACTIVE"|"DOWN", Topic: "listener_<host>"}; the
// status is set with NbApi.Update, which bumps the port's version and
// publishes a "set". Other tables, actions, values and topics (ZeroMQ
// topics match by prefix: listener_node10 reaches listener_node1) are
// dropped and counted. Because controllers also write a model.PortStatus
// row before they publish, the listener reconciles — applies every
// portstatus row whose status differs from its port's, ignoring deleted
// ports — at start, on every gap its subscriber reports, on every newly
// discovered publisher, on a publisher service's resync marker, after a
// failed write (with backoff) and every [df] db_sync_time. Events,
// reconciles and retries run on one goroutine, so a reconcile never undoes
// a newer event.
//
// Counters: APIStats (NewAPICollector) and ListenerStats
// (NewListenerCollector) for Prometheus; cmd/df-neutron-server serves them
// on its admin endpoint.
package neutron
