package model

// ActivePort is a row of table "activeport" (Dragonflow's
// AllowedAddressPairsActivePort): which port currently answers for an
// allowed-address-pair IP of a network, as detected from ARP. Its key is
// ActivePortID(Network, IP).
type ActivePort struct {
	ID            string `json:"id"`
	Topic         string `json:"topic"`   // the detected port's project
	Network       string `json:"network"` // LogicalSwitch id
	IP            string `json:"ip"`
	DetectedMAC   string `json:"detected_mac"`
	DetectedLPort string `json:"detected_lport"` // LogicalPort id
}

// ActivePortID is the key of the active port of ip on lswitch: the plain
// concatenation lswitch+ip, with no separator, as Dragonflow builds it.
func ActivePortID(lswitch, ip string) string { return lswitch + ip }

// Table implements Model.
func (*ActivePort) Table() string { return TableActivePort }

// Key implements Model.
func (a *ActivePort) Key() string { return a.ID }

// ObjTopic implements Model.
func (a *ActivePort) ObjTopic() string { return a.Topic }
