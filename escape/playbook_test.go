package escape_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/escape"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/gtstest"
	"github.com/lifeboat-social/lifeboat/internal/meshcheck"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/provision"
)

func TestMain(m *testing.M) { gtstest.Main(m) }

// upAlready is a destination that is already up and makes no accounts,
// as an existing server (or a provisioned one) is to the playbook.
type upAlready struct{ url string }

func (u upAlready) Start(context.Context, progress.Func) (*provision.Server, error) {
	return &provision.Server{URL: u.url, Software: "gotosocial"}, nil
}
func (upAlready) Stop(context.Context) error { return nil }

// The existing and new playbooks launch once, issue invites once, and on
// every later run seed the mesh for the members who have arrived since —
// read back from the real server.
func TestPlaybooksSeedAsMembersArrive(t *testing.T) {
	for _, playbook := range []string{"existing", "new"} {
		t.Run(playbook, func(t *testing.T) {
			_, srv := gtstest.Server(t)
			ctx := context.Background()
			name := "pb-" + playbook
			g := &groups.Group{Version: 1, Name: name, Title: "Playbook " + playbook, ViableMass: 3,
				Lead:        groups.Person{Name: "Lead", Email: name + "0@example.org"},
				Destination: groups.Destination{Type: groups.DestExisting, Server: srv.URL}}
			for i := 0; i < 3; i++ {
				g.Members = append(g.Members, groups.Member{Name: "M", Email: fmt.Sprintf("%s%d@example.org", name, i), Username: fmt.Sprintf("pb%s%d", playbook[:2], i)})
			}
			st, err := store.Open(ctx, store.Config{Dir: filepath.Join(t.TempDir(), "s")})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if err := escape.SaveGroup(ctx, st, g); err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			for _, m := range g.Members {
				if err := st.Pledges().Put(ctx, store.Pledge{Group: name, Email: m.Email, Confirmed: true, CreatedAt: now, UpdatedAt: now}); err != nil {
					t.Fatal(err)
				}
			}
			run := func() escape.Report {
				t.Helper()
				// The admin has accepted the group (the acceptance itself is
				// campaign's and cmd's to test).
				accepted := provision.ReadyFunc(func(context.Context) (bool, string, error) { return true, "", nil })
				rep, err := escape.New(escape.Config{Store: st, Group: g, Dest: upAlready{srv.URL}, Ready: accepted}).Run(ctx, playbook)
				if err != nil {
					t.Fatal(err)
				}
				return rep
			}
			if rep := run(); rep.AccountsCreated != 0 || rep.FollowsSeeded != 0 {
				t.Fatalf("before anyone arrived: %+v", rep)
			}
			invs, _ := st.Invites().List(ctx, name)
			if len(invs) != 3 {
				t.Fatalf("%d invites, want 3", len(invs))
			}

			// Members arrive one at a time: each signs up on the server
			// (the test server's account maker stands in for sign-up and
			// approval) and authorises Lifeboat.
			c := fedi.New(srv.URL)
			app, err := c.RegisterApp(ctx, "t", "", []string{"read", "write", "follow"})
			if err != nil {
				t.Fatal(err)
			}
			var arrivedSoFar []meshcheck.Member
			for i, m := range g.Members {
				id, err := srv.Accounts.CreateAccount(ctx, m.Username, m.Email, "Correct-Horse-Battery-9")
				if err != nil {
					t.Fatal(err)
				}
				tok, err := c.SignInAndAuthorize(ctx, app, m.Email, "Correct-Horse-Battery-9")
				if err != nil {
					t.Fatal(err)
				}
				if err := st.Accounts().Put(ctx, store.Account{Group: name, Email: m.Email, Server: srv.URL, ID: id, Username: m.Username, Token: tok}); err != nil {
					t.Fatal(err)
				}
				arrivedSoFar = append(arrivedSoFar, meshcheck.Member{Email: m.Email, ID: id, Token: tok})
				rep := run()
				if n := i + 1; rep.FollowsSeeded != n*(n-1) || rep.AccountsCreated != n {
					t.Errorf("after %d arrivals: %+v", n, rep)
				}
				if len(arrivedSoFar) > 1 {
					if err := meshcheck.Verify(ctx, srv.URL, g.Title, arrivedSoFar); err != nil {
						t.Fatal(err)
					}
				}
			}
			if invs, _ := st.Invites().List(ctx, name); len(invs) != 3 {
				t.Errorf("reruns issued more invites: %d", len(invs))
			}
		})
	}
}
