package backup_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lifeboat-social/lifeboat/escape"
	"github.com/lifeboat-social/lifeboat/escape/arrival"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/gtstest"
	"github.com/lifeboat-social/lifeboat/internal/meshcheck"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/s3test"
	"github.com/lifeboat-social/lifeboat/provision/backup"
	"github.com/lifeboat-social/lifeboat/provision/local"
)

// gtsService is the local GoToSocial stopped and started as a server's
// systemd unit would be.
type gtsService struct {
	l   *local.Local
	dir string
}

func (s gtsService) Stop(ctx context.Context) error { return local.StopRunning(ctx, s.dir) }
func (s gtsService) Start(ctx context.Context, _ progress.Func) error {
	return s.l.Restart(ctx)
}

// TestBackupRestoreGoToSocial backs up a real GoToSocial (v0.17.3 on
// loopback) while it runs, after a group of three has arrived and its
// mesh is seeded, into a directory and into a bucket on a real S3 server
// (versitygw); then a follow is undone and the server is lost (stopped,
// its database and media deleted), and each backup is restored: the
// members' follows and lists read back through the API with the tokens
// the lead's store kept are the mesh as backed up.
func TestBackupRestoreGoToSocial(t *testing.T) {
	ctx := context.Background()
	l, srv := gtstest.Server(t)
	dir := filepath.Dir(l.ConfigPath())
	name := "bk" + strings.ToLower(rand.Text()[:6]) // the server outlives -count runs
	g := &groups.Group{Version: 1, Name: name, Title: "Backup " + name, ViableMass: 2,
		Lead:        groups.Person{Name: "Lead", Email: name + "0@example.org"},
		Destination: groups.Destination{Type: groups.DestLocal}}
	for i := range 3 {
		g.Members = append(g.Members, groups.Member{Name: fmt.Sprint("M", i), Email: fmt.Sprintf("%s%d@example.org", name, i), Username: fmt.Sprintf("%s%d", name, i)})
	}
	st := openStore(t)
	if err := escape.SaveGroup(ctx, st, g); err != nil {
		t.Fatal(err)
	}
	logins, err := arrival.OpenLogins(filepath.Join(t.TempDir(), "logins.csv"))
	if err != nil {
		t.Fatal(err)
	}
	eng := arrival.New(arrival.Config{Store: st, Group: g, Server: srv, Logins: logins})
	for _, m := range g.Members {
		if err := eng.Join(ctx, m.Email, "", ""); err != nil {
			t.Fatal(err)
		}
		if err := eng.SignIn(ctx, m.Email); err != nil {
			t.Fatal(err)
		}
	}
	if err := eng.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	accs, err := st.Accounts().List(ctx, g.Name)
	if err != nil || len(accs) != 3 {
		t.Fatalf("accounts: %d %v", len(accs), err)
	}
	var ms []meshcheck.Member
	for _, a := range accs {
		ms = append(ms, meshcheck.Member{Email: a.Email, ID: a.ID, Token: a.Token})
	}
	u, _ := url.Parse(srv.URL)
	server := backup.Server{ID: "local", Group: g.Name, Domain: u.Host, Shell: localShell{},
		Layout:  backup.Layout{DB: filepath.Join(dir, "gts.db"), Storage: filepath.Join(dir, "storage"), Work: filepath.Join(t.TempDir(), "work")},
		Service: gtsService{l, dir}}

	s3 := s3test.Start(t)
	bucket := localRepo(t)
	bucket.Location = "s3:" + s3.Endpoint + "/lifeboat-" + name + "/backups"
	bucket.S3 = backup.S3Keys{KeyID: s3.KeyID, Secret: s3.Secret}
	for _, c := range []struct {
		name string
		repo backup.Repo
	}{{"path", localRepo(t)}, {"bucket", bucket}} {
		t.Run(c.name, func(t *testing.T) {
			b, ev := newBackups(t, st, c.repo)
			snap, err := b.Backup(ctx, server)
			if err != nil {
				t.Fatalf("backup: %v\n%s", err, ev.text())
			}
			if err := meshcheck.Verify(ctx, srv.URL, eng.ListTitle(), ms); err != nil {
				t.Fatalf("the server after its backup: %v", err)
			}
			if _, err := fedi.New(srv.URL).WithToken(ms[0].Token).Unfollow(ctx, ms[1].ID); err != nil {
				t.Fatal(err)
			}
			// The server is lost.
			if err := local.StopRunning(ctx, dir); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{"gts.db", "gts.db-wal", "gts.db-shm", "storage"} {
				os.RemoveAll(filepath.Join(dir, f))
			}
			if _, err := b.Restore(ctx, server, snap.ID, false); err != nil {
				t.Fatalf("restore: %v\n%s", err, ev.text())
			}
			if err := meshcheck.Verify(ctx, srv.URL, eng.ListTitle(), ms); err != nil {
				t.Fatalf("the mesh after restore: %v", err)
			}
		})
	}
}
