package model

// intern returns b as a string without allocating when it is a word that
// recurs in nearly every body: a table name, an action, the default topic or
// Redis HA's "ha"/"nodes"/"redis". A switch beats a map here (no hashing);
// TestInternCoversTablesAndActions keeps the list complete.
func intern(b []byte) string {
	switch string(b) {
	case TablePublisher:
		return TablePublisher
	case TableListener:
		return TableListener
	case TableChassis:
		return TableChassis
	case TableLogicalSwitch:
		return TableLogicalSwitch
	case TableSubnet:
		return TableSubnet
	case TableLogicalPort:
		return TableLogicalPort
	case TableActivePort:
		return TableActivePort
	case TablePortStatus:
		return TablePortStatus
	case ActionCreate:
		return ActionCreate
	case ActionSet:
		return ActionSet
	case ActionDelete:
		return ActionDelete
	case ActionUpdate:
		return ActionUpdate
	case ActionLog:
		return ActionLog
	case ActionSync:
		return ActionSync
	case ActionReinitialize:
		return ActionReinitialize
	case ActionDBRestart:
		return ActionDBRestart
	case DefaultTopic:
		return DefaultTopic
	case "ha":
		return "ha"
	case "nodes":
		return "nodes"
	case "redis":
		return "redis"
	}
	return string(b)
}
