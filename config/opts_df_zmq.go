package config

// Names of the [df_zmq] options: ZMTP CURVE and the replay buffer of the zmq driver.
const (
	GroupDFZMQ                    = "df_zmq"
	OptCurveEnabled               = "curve_enabled"
	OptCurveServerSecretKeyFile   = "curve_server_secret_key_file"
	OptCurveAllowedClientKeysFile = "curve_allowed_client_keys_file"
	OptCurveSecretKeyFile         = "curve_secret_key_file"
	OptCurveServerPublicKey       = "curve_server_public_key"
	OptReplayBufferEvents         = "replay_buffer_events"
	OptReplayBufferBytes          = "replay_buffer_bytes"
)

func dfZMQGroup() groupDef {
	return groupDef{
		Group: Group{Name: GroupDFZMQ, Help: "Options of the zmq driver: authentication and encryption (ZMTP " +
			"CURVE, interoperable with libzmq; keys are Z85 text, as dfctl curve keygen writes them) and the " +
			"publishers' replay buffer."},
		opts: []Opt{
			{
				Name: OptCurveEnabled, Kind: KindBool, Default: "false",
				Help: "Use CURVE on every zmq socket of this process: sockets that bind (publishers, the " +
					"publisher service's ipc socket) are CURVE servers, sockets that connect (subscribers, " +
					"neutron-server workers) are CURVE clients. A peer without the right key is refused. " +
					"Control actions from the wire are obeyed only over CURVE.",
			},
			{
				Name: OptCurveServerSecretKeyFile, Kind: KindStr, Default: "",
				Help: "File with the secret key of this process's binding sockets (mode 0600). Every " +
					"publisher of a deployment may share one server key pair.",
			},
			{
				Name: OptCurveAllowedClientKeysFile, Kind: KindStr, Default: "",
				Help: "File listing the public keys of the clients the binding sockets accept, one per line.",
			},
			{
				Name: OptCurveSecretKeyFile, Kind: KindStr, Default: "",
				Help: "File with this process's client secret key (mode 0600); its public key must be " +
					"in the servers' curve_allowed_client_keys_file.",
			},
			{
				Name: OptCurveServerPublicKey, Kind: KindStr, Default: "",
				Help: "Public key (Z85) of the servers this process connects to.",
			},
			{
				Name: OptReplayBufferEvents, Kind: KindInt, Default: "4096", Min: intp(0),
				Help: "Events per topic a zmq publisher keeps to replay to a restarted subscriber that " +
					"asks to resume after the last event it applied (instead of a full resync). 0: off.",
			},
			{
				Name: OptReplayBufferBytes, Kind: KindInt, Default: "16777216", Min: intp(0),
				Help: "Bound of a zmq publisher's replay buffer across all topics, in bytes; the oldest " +
					"events go first.",
			},
		},
	}
}

// CurveSettings are the [df_zmq] options.
type CurveSettings struct {
	Enabled               bool
	ServerSecretKeyFile   string
	AllowedClientKeysFile string
	SecretKeyFile         string
	ServerPublicKey       string
	// ReplayEvents and ReplayBytes bound a zmq publisher's replay buffer.
	ReplayEvents, ReplayBytes int
}

// Curve returns the [df_zmq] options.
func (c *Config) Curve() CurveSettings {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return CurveSettings{
		Enabled:               c.bool(GroupDFZMQ, OptCurveEnabled),
		ServerSecretKeyFile:   c.str(GroupDFZMQ, OptCurveServerSecretKeyFile),
		AllowedClientKeysFile: c.str(GroupDFZMQ, OptCurveAllowedClientKeysFile),
		SecretKeyFile:         c.str(GroupDFZMQ, OptCurveSecretKeyFile),
		ServerPublicKey:       c.str(GroupDFZMQ, OptCurveServerPublicKey),
		ReplayEvents:          c.int(GroupDFZMQ, OptReplayBufferEvents),
		ReplayBytes:           c.int(GroupDFZMQ, OptReplayBufferBytes),
	}
}
