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
	cmd.AddCommand(rotate, newSecretsOpenCmd(app))
	return cmd
}

// newSecretsOpenCmd is "secrets open FILE": the lead's way to the admin
// password of a server Lifeboat made, which lives sealed in admin.json.
func newSecretsOpenCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "open FILE",
		Short: "Write a sealed file's content to a pipe or file (never to the terminal)",
		Long: `Open unseals a file Lifeboat sealed in the state directory (server.json,
admin.json, admin-token.json) and writes its content to standard output,
which must be a pipe or a file: a secret is never shown on the terminal,
where it would stay in the scrollback. A file still in clear is sealed by
this read.`,
		Example: `  lifeboat secrets open ~/.local/state/lifeboat/groups/valley-cyclists/hetzner/admin.json | jq -r .password | wl-copy`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f, ok := app.Stdout.(*os.File); ok && isTerminal(f) {
				return usageErrorf("secrets open writes a secret: send it to a pipe or a file (lifeboat secrets open %s > FILE), not to the terminal", args[0])
			}
			keys, err := store.LoadKeys(app.StateDir)
			if err != nil {
				return usageErr(err)
			}
			b, err := store.ReadSealedFile(keys, args[0])
			if err != nil {
				return usageErr(err)
			}
			_, err = app.Stdout.Write(b)
			return err
		},
	}
}

// sealedWhat says what a rotation sealed, e.g. "12 secrets in the store
// and 2 files".
func sealedWhat(r store.Rotation) string {
	return fmt.Sprintf("%d %s in the store and %d %s", r.Secrets, pluralWord(r.Secrets, "secret", "secrets"),
		r.Files, pluralWord(r.Files, "file", "files"))
}
