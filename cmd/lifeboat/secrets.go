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
		Short: "The key that seals the tokens, signing keys and admin credentials",
		Long: `Members' OAuth tokens and groups' signing keys are sealed in the store,
and servers' admin tokens and credentials in their files in the state
directory (server.json, admin.json, admin-token.json), with a key kept
outside both: $LIFEBOAT_SECRET_KEY (base64 keys separated by commas, the
sealing key first), else the key file secret.key in Lifeboat's config
directory (~/.config/lifeboat; $LIFEBOAT_SECRET_KEY_FILE names another),
made 0600 on first use; it must not be in the state directory. A copy of
the database or of the state directory holds no usable secret without it.
Files left in clear by an older Lifeboat are sealed when next read.
Members' passwords are never stored.`,
	}
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Seal every secret in the store and every sealed file with a new key",
		Long: `Rotate makes a new key, seals every secret in the store with it in one
transaction and every sealed file in the state directory, and then drops
the old key from the key file. Interrupted, the key file keeps the old key
beside the new one and running it again finishes.
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
				rot, err := store.ResealAll(ctx, cfg)
				if err != nil {
					return err
				}
				fmt.Fprintf(app.Stdout, "Sealed %s with key %s, the first in $%s; drop the others from it now.\n",
					sealedWhat(rot), keys.ID(), store.EnvSecretKey)
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
			fmt.Fprintf(app.Stdout, "Sealed %s with the new key %s in %s; the old key is gone.\n",
				sealedWhat(rot), rot.Key, keyFile)
			return nil
		},
	}
	cmd.AddCommand(rotate)
	return cmd
}

// sealedWhat says what a rotation sealed, e.g. "12 secrets in the store
// and 2 files".
func sealedWhat(r store.Rotation) string {
	return fmt.Sprintf("%d %s in the store and %d %s", r.Secrets, pluralWord(r.Secrets, "secret", "secrets"),
		r.Files, pluralWord(r.Files, "file", "files"))
}
