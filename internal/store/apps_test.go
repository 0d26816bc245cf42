package store

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
)

// TestHomeApps: the app on a member's server is kept once per server and
// callback (racing registrations end with one, the first kept), its
// client secret sealed in its own row, resealed on rotation.
func TestHomeApps(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			cfg := d.config(t)
			first := NewKey()
			cfg.Keys = ring(t, first)
			s := open(t, cfg)
			apps := s.HomeApps()
			const server, cb = "https://other.example", "https://lifeboat.example/home/callback"
			_, err := apps.Get(ctx, server, cb)
			wantErr(t, err, ErrNotFound)

			var wg sync.WaitGroup
			got := make([]HomeApp, 8)
			errs := make([]error, 8)
			for i := range got {
				wg.Add(1)
				go func() {
					defer wg.Done()
					got[i], errs[i] = apps.Add(ctx, HomeApp{Server: server, RedirectURI: cb,
						ClientID: fmt.Sprint("id-", i), ClientSecret: fmt.Sprint("client-secret-0123456789-", i), CreatedAt: t0})
				}()
			}
			wg.Wait()
			for i := range got {
				must(t, errs[i])
				if got[i] != got[0] || got[i].CreatedAt != t0UTC {
					t.Fatalf("racing registrations kept %+v and %+v", got[0], got[i])
				}
			}
			kept, err := apps.Get(ctx, server, cb)
			must(t, err)
			if kept != got[0] || kept.ClientSecret != "client-secret-0123456789-"+kept.ClientID[len("id-"):] {
				t.Fatalf("kept %+v, the adds returned %+v", kept, got[0])
			}
			// Another callback (another group's pages) is another app.
			other, err := apps.Add(ctx, HomeApp{Server: server, RedirectURI: cb + "2", ClientID: "x", ClientSecret: "y"})
			must(t, err)
			if other.ClientID != "x" {
				t.Fatalf("another callback: %+v", other)
			}

			stored := raw(t, s, "SELECT client_secret FROM home_apps WHERE redirect_uri = ?", cb)
			if bytes.Contains(stored, []byte("client-secret")) || !bytes.HasPrefix(stored, []byte(sealedPrefix)) {
				t.Fatalf("client secret stored as %q", stored)
			}
			// A sealed secret moved into another row does not open.
			_, err = s.(*sqlStore).exec(ctx, "UPDATE home_apps SET client_secret = ? WHERE redirect_uri = ?", string(stored), cb+"2")
			must(t, err)
			_, err = apps.Get(ctx, server, cb+"2")
			wantErr(t, err, ErrKey)
			_, err = s.(*sqlStore).exec(ctx, "DELETE FROM home_apps WHERE redirect_uri = ?", cb+"2")
			must(t, err)

			// A rotation reseals it with the new key.
			s.Close()
			cfg.Keys = ring(t, NewKey(), first)
			rot, err := ResealAll(ctx, cfg)
			must(t, err)
			if rot.Secrets != 1 {
				t.Fatalf("resealed %d secrets, want the one client secret", rot.Secrets)
			}
			s = open(t, cfg)
			after := raw(t, s, "SELECT client_secret FROM home_apps WHERE redirect_uri = ?", cb)
			if bytes.Equal(after, stored) || !bytes.Contains(after, []byte(cfg.Keys.ID())) {
				t.Fatalf("client secret not resealed with %s: %q", cfg.Keys.ID(), after)
			}
			if a, err := s.HomeApps().Get(ctx, server, cb); err != nil || a != kept {
				t.Fatalf("after rotation: %+v, %v", a, err)
			}
		})
	}
}
