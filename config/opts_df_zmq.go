package config

// Names of the [df_zmq] options: ZMTP CURVE for the zmq driver.
const (
	GroupDFZMQ                    = "df_zmq"
	OptCurveEnabled               = "curve_enabled"
	OptCurveServerSecretKeyFile   = "curve_server_secret_key_file"
	OptCurveAllowedClientKeysFile = "curve_allowed_client_keys_file"
	OptCurveSecretKeyFile         = "curve_secret_key_file"
	OptCurveServerPublicKey       = "curve_server_public_key"
)

func dfZMQGroup() groupDef {
	return groupDef{
		Group: Group{Name: GroupDFZMQ, Help: "Authentication and encryption of the zmq driver (ZMTP CURVE, " +
			"interoperable with libzmq). Keys are Z85 text, as dfctl curve keygen writes them."},
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
	}
}
