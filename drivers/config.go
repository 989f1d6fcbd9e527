package drivers

import (
	"fmt"
	"log/slog"

	"github.com/dragonflow-go/dragonflow/config"
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq"
)

// PubSub returns the driver [df] pub_sub_driver names, configured from cfg:
// for zmq, a driver built from [df_zmq] (replay buffer, CURVE keys when
// curve_enabled is set); otherwise the registered driver. Errors name the option to fix.
func PubSub(cfg *config.Config, log *slog.Logger) (pubsub.Driver, error) {
	name := cfg.DF().PubSubDriver
	if name == "zmq" {
		return ZMQ(cfg, log)
	}
	d, err := pubsub.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("[df] %s: %w", config.OptPubSubDriver, err)
	}
	return d, nil
}

// ZMQ builds a zmq driver from cfg: the [df_zmq] replay buffer, and NULL
// security or CURVE with the keys of [df_zmq] when curve_enabled is set. A process that both binds and
// connects (a controller: PUB and SUB) needs both the server and the client
// keys; one that lacks the keys of a socket it opens fails when it opens it
// (zmq.ErrCurveConfig).
func ZMQ(cfg *config.Config, log *slog.Logger) (*zmq.Driver, error) {
	cs := cfg.Curve()
	opts := []zmq.Option{zmq.WithReplayBuffer(cs.ReplayEvents, cs.ReplayBytes)}
	if log != nil {
		opts = append(opts, zmq.WithLogger(log))
	}
	if !cs.Enabled {
		return zmq.New(opts...), nil
	}
	opt := func(name string) string { return "[" + config.GroupDFZMQ + "] " + name }
	if cs.ServerSecretKeyFile == "" && cs.SecretKeyFile == "" {
		return nil, fmt.Errorf("%s is true but neither %s nor %s is set", opt(config.OptCurveEnabled),
			opt(config.OptCurveServerSecretKeyFile), opt(config.OptCurveSecretKeyFile))
	}
	if cs.ServerSecretKeyFile != "" {
		secret, err := zmq.ReadCurveSecretKeyFile(cs.ServerSecretKeyFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", opt(config.OptCurveServerSecretKeyFile), err)
		}
		if cs.AllowedClientKeysFile == "" {
			return nil, fmt.Errorf("%s is set but %s is not: no client could connect",
				opt(config.OptCurveServerSecretKeyFile), opt(config.OptCurveAllowedClientKeysFile))
		}
		allowed, err := zmq.ReadCurvePublicKeysFile(cs.AllowedClientKeysFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", opt(config.OptCurveAllowedClientKeysFile), err)
		}
		opts = append(opts, zmq.WithCurveServer(secret, allowed))
	}
	if cs.SecretKeyFile != "" {
		secret, err := zmq.ReadCurveSecretKeyFile(cs.SecretKeyFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", opt(config.OptCurveSecretKeyFile), err)
		}
		public, err := zmq.CurvePublicKey(secret)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", opt(config.OptCurveSecretKeyFile), err)
		}
		if cs.ServerPublicKey == "" {
			return nil, fmt.Errorf("%s is set but %s is not: the client cannot authenticate its servers",
				opt(config.OptCurveSecretKeyFile), opt(config.OptCurveServerPublicKey))
		}
		opts = append(opts, zmq.WithCurveClient(secret, public, cs.ServerPublicKey))
	}
	return zmq.New(opts...), nil
}
