package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/dragonflow-go/dragonflow/pubsub/zmq"
)

func newCurveCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "curve",
		Short: "CURVE keys for the zmq driver ([df_zmq])",
	}
	var force bool
	keygen := &cobra.Command{
		Use:   "keygen PREFIX",
		Short: "Write a new CURVE key pair: PREFIX.key (secret, mode 0600) and PREFIX.pub (public), Z85 text",
		Long: `Generate a CURVE permanent key pair, as libzmq's zmq_curve_keypair does, and
write the secret key to PREFIX.key (mode 0600) and the public key to PREFIX.pub.

A deployment typically has one server pair, whose secret every publisher reads
from [df_zmq] curve_server_secret_key_file and whose public key every
subscriber sets as curve_server_public_key, and one client pair per host,
whose public keys are listed in the servers' curve_allowed_client_keys_file.`,
		Example: `  dfctl curve keygen /etc/dragonflow/server
  dfctl curve keygen /etc/dragonflow/compute-1
  cat /etc/dragonflow/compute-*.pub > /etc/dragonflow/allowed-clients`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			prefix := args[0]
			public, secret, err := zmq.GenerateCurveKeyPair()
			if err != nil {
				return err
			}
			flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
			if force {
				flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
			}
			for _, f := range []struct {
				path, key string
				mode      os.FileMode
			}{{prefix + ".key", secret, 0o600}, {prefix + ".pub", public, 0o644}} {
				fh, err := os.OpenFile(f.path, flags, f.mode)
				if errors.Is(err, os.ErrExist) {
					return fmt.Errorf("%s exists; use --force to overwrite it", f.path)
				}
				if err != nil {
					return err
				}
				_, werr := fmt.Fprintln(fh, f.key)
				if err := errors.Join(werr, fh.Close()); err != nil {
					return fmt.Errorf("write %s: %w", f.path, err)
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s.key (secret) and %s.pub (public: %s)\n", prefix, prefix, public)
			return nil
		},
	}
	keygen.Flags().BoolVar(&force, "force", false, "overwrite existing files")
	cmd.AddCommand(keygen)
	return cmd
}
