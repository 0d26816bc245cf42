package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/atomicfile"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/safetext"
	"github.com/lifeboat-social/lifeboat/internal/tools"
	"github.com/lifeboat-social/lifeboat/provision/backup"
	"github.com/lifeboat-social/lifeboat/provision/destination"
	"github.com/lifeboat-social/lifeboat/provision/hetzner"
)

// Environment variables backup and restore read. The password and the
// bucket's keys are never flags.
const (
	envBackupRepo         = "LIFEBOAT_BACKUP_REPO"
	envBackupPasswordFile = "LIFEBOAT_BACKUP_PASSWORD_FILE"
	envS3KeyID            = "AWS_ACCESS_KEY_ID"
	envS3Secret           = "AWS_SECRET_ACCESS_KEY"
)

// backupDir is the lead's side of a group's backups (0700): the password
// made with the repository, restic's cache, the repository last used.
func backupDir(app *App, group string) (string, error) {
	d, err := app.GroupDir(group)
	if err != nil {
		return "", err
	}
	d = filepath.Join(d, "backup")
	return d, os.MkdirAll(d, 0o700)
}

// backupSetup is what backup and restore share: the group's server, the
// repository (the flag, else $LIFEBOAT_BACKUP_REPO, else the one used
// last) and the journal.
func backupSetup(ctx context.Context, app *App, file, location string) (*backup.Backups, backup.Server, string, error) {
	var none backup.Server
	g, probs := groups.Load(file)
	if len(probs) > 0 {
		return nil, none, "", reportProblems(app, probs)
	}
	d := g.Destination
	if d.Type != groups.DestNew || d.Cloud != groups.CloudHetzner || d.SoftwareOrDefault() != groups.SoftwareGoToSocial {
		return nil, none, "", usageErrorf("%s: backup and restore cover a new GoToSocial server on Hetzner (destination type %q, cloud %q, software %q)", file, d.Type, d.Cloud, d.SoftwareOrDefault())
	}
	dir, err := backupDir(app, g.Name)
	if err != nil {
		return nil, none, "", err
	}
	remembered := filepath.Join(dir, "repository")
	if location == "" {
		location = os.Getenv(envBackupRepo)
	}
	if location == "" {
		b, err := os.ReadFile(remembered)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, none, "", usageErrorf("where should the backups go? pass --to PATH or --to s3:https://HOST/BUCKET/PREFIX (or set %s)", envBackupRepo)
		}
		if err != nil {
			return nil, none, "", err
		}
		location = string(b)
	}
	if location, err = backup.ParseLocation(location); err != nil {
		return nil, none, "", usageErr(err)
	}
	repo := backup.Repo{Location: location, PasswordFile: filepath.Join(dir, "password"), CacheDir: filepath.Join(dir, "cache"),
		S3: backup.S3Keys{KeyID: os.Getenv(envS3KeyID), Secret: os.Getenv(envS3Secret)}}
	if p := os.Getenv(envBackupPasswordFile); p != "" {
		// Its mode is checked like a token file's: only you may read it.
		if _, err := hetzner.TokenFromFile(p); err != nil {
			return nil, none, "", hetznerErr(err)
		}
		repo.PasswordFile = p
	}
	cfg, err := app.config()
	if err != nil {
		return nil, none, "", err
	}
	hc, err := destination.Hetzner(ctx, g, destination.Config{Config: cfg, Log: app.Stderr})
	if err != nil {
		return nil, none, "", hetznerErr(err)
	}
	srv, err := hetzner.New(hc).BackupServer(ctx)
	if errors.Is(err, hetzner.ErrNothing) {
		return nil, none, "", usageErrorf("%s has no server yet: run lifeboat up %s first", g.Name, file)
	}
	if err != nil {
		return nil, none, "", hetznerErr(err)
	}
	in := tools.New()
	in.Log = app.Stderr
	bin, err := in.Restic(ctx)
	if err != nil {
		return nil, none, "", fmt.Errorf("find restic: %w", err)
	}
	st, err := app.Store(ctx)
	if err != nil {
		return nil, none, "", err
	}
	emit := progress.Plain(app.Stderr, time.Second)
	b := &backup.Backups{Restic: &backup.Restic{Bin: bin, Repo: repo, Emit: emit}, Journal: st.Journal(), Emit: emit}
	return b, srv, remembered, nil
}

// backupErr maps what the lead must fix to exit code 2.
func backupErr(err error) error {
	if errors.Is(err, backup.ErrInput) {
		return usageErr(err)
	}
	return err
}

func newBackupCmd(app *App) *cobra.Command {
	var to string
	var list, asJSON bool
	cmd := &cobra.Command{
		Use:   "backup GROUP.yaml",
		Short: "Back up the group's GoToSocial server (database and media), encrypted, to a path or a bucket",
		Long: `Backup copies the database of the group's GoToSocial server while it runs
(SQLite's VACUUM INTO: the database as it was at one moment) and its media,
over the SSH access up made, into a restic repository: encrypted and
deduplicated, in a directory (a disk, or a mounted Storage Box) or an
S3-compatible bucket (Hetzner Object Storage). The first backup makes the
repository and its password (0600, in the group's state directory; keep a
copy elsewhere: without it no backup can be read). The repository is
remembered, so later runs need no --to.

The bucket's access key comes from AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY; an existing repository's password from the file
LIFEBOAT_BACKUP_PASSWORD_FILE (mode 0600). None of them is ever a flag or
printed. A backup cut off saves nothing; the next run starts afresh.`,
		Example: `  lifeboat backup group.yaml --to /srv/backups/lifeboat
  AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… lifeboat backup group.yaml --to s3:https://fsn1.your-objectstorage.com/my-bucket/lifeboat
  lifeboat backup group.yaml --list --json`,
		Args: hetznerArgs("backup"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			b, srv, remembered, err := backupSetup(ctx, app, args[0], to)
			if err != nil {
				return err
			}
			if list {
				snaps, err := b.Restic.List(ctx, srv.Group)
				if err != nil {
					return backupErr(err)
				}
				if asJSON {
					return hetznerJSON(app.Stdout, snaps)
				}
				for _, s := range snaps {
					fmt.Fprintf(app.Stdout, "%s  %s  %10.1f MB  %s\n", s.Short, s.Time.Local().Format(time.DateTime), float64(s.Bytes)/(1<<20), safetext.Line(s.Domain))
				}
				return nil
			}
			snap, err := b.Backup(ctx, srv)
			if err != nil {
				return backupErr(err)
			}
			if err := atomicfile.Write(remembered, []byte(b.Restic.Repo.Location), 0o600); err != nil {
				return err
			}
			if asJSON {
				return hetznerJSON(app.Stdout, snap)
			}
			fmt.Fprintf(app.Stdout, "Backup %s of %s saved in %s (%.1f MB).\nThe repository's password is in %s: keep a copy away from this machine.\n",
				snap.Short, srv.Domain, safetext.Line(b.Restic.Repo.Location), float64(snap.Bytes)/(1<<20), b.Restic.Repo.PasswordFile)
			return nil
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "the repository: a path, or s3:https://HOST/BUCKET[/PREFIX] (default $"+envBackupRepo+", else the one used last)")
	cmd.Flags().BoolVar(&list, "list", false, "list the group's backups in the repository instead")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the backup (or with --list the backups) as JSON on stdout")
	return cmd
}

func newRestoreCmd(app *App) *cobra.Command {
	var from, id, confirm string
	var again, asJSON bool
	cmd := &cobra.Command{
		Use:   "restore GROUP.yaml",
		Short: "Bring a backup back onto the group's GoToSocial server and restart it",
		Long: `Restore puts a backup (the latest, or --backup ID) in place of the data of the
group's server made by up: the same server, or a new one after the old was
lost (lifeboat up again, then restore). The backup is unpacked and checked
on the server first; then GoToSocial is stopped, the backup swapped in, and
GoToSocial started and awaited over HTTPS. The data it replaces are kept on
the server beside the media (.lifeboat-restore-…/replaced).

It asks you to type the group's name first; --confirm NAME does the same
for scripts. A restore cut off resumes at its step when run again; the
same backup is not restored onto the same server twice unless --again.`,
		Example: `  lifeboat restore group.yaml
  lifeboat restore group.yaml --from s3:https://fsn1.your-objectstorage.com/my-bucket/lifeboat --backup 4f1c2a9e --confirm valley-cyclists`,
		Args: hetznerArgs("restore"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			b, srv, _, err := backupSetup(ctx, app, args[0], from)
			if err != nil {
				return err
			}
			if err := confirmGroupName(cmd, app, confirm, srv.Group, "This replaces the data of "+srv.Domain+" with a backup and restarts it.", "changed"); err != nil {
				return err
			}
			snap, err := b.Restore(ctx, srv, id, again)
			if err != nil {
				return backupErr(err)
			}
			if asJSON {
				return hetznerJSON(app.Stdout, snap)
			}
			fmt.Fprintf(app.Stdout, "Restored backup %s (%s) onto %s; GoToSocial runs on it.\n", snap.Short, snap.Time.Local().Format(time.DateTime), srv.Domain)
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the repository: a path, or s3:https://HOST/BUCKET[/PREFIX] (default $"+envBackupRepo+", else the one used last)")
	cmd.Flags().StringVar(&id, "backup", "", "the backup's id (lifeboat backup --list); default the latest")
	cmd.Flags().StringVar(&confirm, "confirm", "", "the group's name, to restore without the prompt")
	cmd.Flags().BoolVar(&again, "again", false, "restore a backup this server was restored from before once more")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the restored backup as JSON on stdout")
	return cmd
}
