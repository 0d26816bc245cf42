package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/lifeboat-social/lifeboat/internal/store"
)

func newSecretsCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secrets",
		Short: "The key that seals the tokens and signing keys in the store",
		Long: `Members' OAuth tokens and groups' signing keys are sealed in the store with a
key kept outside it: $LIFEBOAT_SECRET_KEY (base64 keys separated by commas,
the sealing key first), else the key file secret.key in Lifeboat's config
directory (~/.config/lifeboat; $LIFEBOAT_SECRET_KEY_FILE names another),
made 0600 on first use; it must not be in the state directory. A copy of the
database or of the state directory holds no usable secret without it.
Passwords are never stored.`,
	}
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Seal every secret in the store with a new key",
		Long: `Rotate makes a new key, seals every secret in the store with it in one
transaction, and then drops the old key from the key file. Interrupted, the
key file keeps the old key beside the new one and running it again finishes.
Stop "lifeboat serve" processes sharing the store first: they hold the old key.

With $LIFEBOAT_SECRET_KEY, put the new key first (LIFEBOAT_SECRET_KEY=NEW,OLD;
make one with: head -c 32 /dev/urandom | base64) and run rotate: it seals
everything with NEW; then drop OLD from the variable.`,
		Example: `  lifeboat secrets rotate
  LIFEBOAT_SECRET_KEY="$NEW,$OLD" lifeboat secrets rotate`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cfg := store.Config{Dir: app.StateDir, URL: app.DatabaseURL}
			if os.Getenv(store.EnvSecretKey) != "" {
				keys, err := store.LoadKeys(cfg.Dir)
				if err != nil {
					return usageErr(err)
				}
				cfg.Keys = keys
				st, err := store.Open(ctx, cfg)
				if err != nil {
					return err
				}
				defer st.Close()
				n, err := st.Reseal(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(app.Stdout, "Sealed %d %s with key %s, the first in $%s; drop the others from it now.\n",
					n, pluralWord(n, "secret", "secrets"), keys.ID(), store.EnvSecretKey)
				return nil
			}
			keyFile, err := store.KeyFile()
			if err != nil {
				return err
			}
			rot, err := store.RotateKeyFile(ctx, cfg, keyFile)
			if err != nil {
				return err
			}
			fmt.Fprintf(app.Stdout, "Sealed %d %s with the new key %s in %s; the old key is gone.\n",
				rot.Secrets, pluralWord(rot.Secrets, "secret", "secrets"), rot.Key, keyFile)
			return nil
		},
	}
	cmd.AddCommand(rotate)
	return cmd
}
