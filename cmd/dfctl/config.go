package main

import (
	"github.com/spf13/cobra"

	"github.com/dragonflow-go/dragonflow/config"
)

func newConfigCmd(_ *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Configuration helpers",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "sample",
		Short: "Print a commented sample configuration with every option, its default and help",
		Long: `Print a commented sample configuration generated from the option registry:
every section and option, its type, default, allowed values, deprecated names
and help. Uncomment and edit the lines you need:

  dfctl config sample > /etc/dragonflow/dragonflow.ini`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return config.WriteSample(cmd.OutOrStdout())
		},
	})
	return cmd
}
