package boottest

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/meshcheck"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/s3test"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/internal/tools"
	"github.com/lifeboat-social/lifeboat/provision/backup"
	"github.com/lifeboat-social/lifeboat/provision/hetzner"
)

// TestCloudInitBootBackupRestore is leaving a server and moving the group
// to a new one: the cloud-init is booted and the group arrives as in
// TestCloudInitBootGoToSocial; lifeboat backup's code then backs the
// running server up over SSH into a bucket on a real S3 server
// (versitygw) with restic; the server is destroyed (powered off, its
// root thrown away); up runs again and a fresh server boots from the same
// cloud-init, with an empty GoToSocial; restore brings the backup onto it
// over SSH and restarts GoToSocial; the members' follows, lists and the
// welcome are read back through the API with the tokens the lead's store
// kept.
func TestCloudInitBootBackupRestore(t *testing.T) {
	ctx, cancel := budget(t, 30*time.Minute)
	defer cancel()
	r := newRig(ctx, t)
	dest, srv, _ := r.up(ctx)
	_, eng, ms := r.arrive(ctx, srv)
	dest.Stop(ctx)

	bin, err := tools.New().Restic(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s3 := s3test.Start(t)
	st, err := store.Open(ctx, store.Config{Dir: filepath.Join(t.TempDir(), "backup-state")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b := &backup.Backups{
		Restic: &backup.Restic{Bin: bin, Repo: backup.Repo{
			Location:     "s3:" + s3.Endpoint + "/lifeboat/" + r.g.Name,
			PasswordFile: filepath.Join(t.TempDir(), "backup-password"),
			S3:           backup.S3Keys{KeyID: s3.KeyID, Secret: s3.Secret},
		}},
		Journal: st.Journal(),
		Emit: func(e progress.Event) {
			if e.Kind == progress.StepStarted || e.Kind == progress.StepDone || e.Kind == progress.Failed {
				r.phase(string(e.Kind) + " " + e.Step + " " + e.Message)
			}
		},
	}
	server, err := hetzner.New(r.cfg).BackupServer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := b.Backup(ctx, server)
	if err != nil {
		t.Fatal(err)
	}
	r.phase("backed up: " + snap.Short)

	r.c.destroy(t)
	r.phase("server destroyed")
	dest, srv, _ = r.up(ctx)
	defer dest.Stop(context.Background())
	// The new server knows none of the group.
	var fe *fedi.Error
	if _, err := r.client(srv.URL).WithToken(ms[0].Token).VerifyCredentials(ctx); !errors.As(err, &fe) || fe.Status != http.StatusUnauthorized {
		t.Fatalf("a member's token on the new server before the restore: %v", err)
	}
	server, err = hetzner.New(r.cfg).BackupServer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Restore(ctx, server, "", false); err != nil {
		t.Fatal(err)
	}
	r.phase("restored")
	if err := meshcheck.Verify(ctx, srv.URL, eng.ListTitle(), ms, fedi.WithHTTPClient(r.tlsClient)); err != nil {
		t.Fatalf("the mesh on the new server: %v", err)
	}
	r.phase("the mesh read back from the new server")
}
