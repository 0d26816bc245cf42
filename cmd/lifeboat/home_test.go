package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/lifeboat-social/lifeboat/provision/hetzner"
)

// TestHomeCommands: lifeboat home plan, up and down as a lead types them,
// against the stateful fake of the Hetzner API with real Terraform and
// the real provider. Plan prints the monthly price and creates nothing;
// up says the price before it applies; down leaves nothing behind.
func TestHomeCommands(t *testing.T) {
	f := fakeHetzner(t)
	state := t.TempDir()
	file := writeSharedGroup(t, sharedGroup)

	if _, errs, code := lb(t, state, "home", "plan", file); code != 2 || !strings.Contains(errs, "--domain") {
		t.Fatalf("plan without a domain: exit %d: %s", code, errs)
	}
	out, errs, code := lb(t, state, "home", "plan", file, "--domain", "join.valley-cyclists.example")
	if code != 0 {
		t.Fatalf("plan: exit %d: %s", code, errs)
	}
	// The fake's prices with 19% VAT: cx23 3.49, IPv4 0.50, 0.044/GB; the
	// group's cx33 6.53 with backups 1.31 and its IPv4. The home's cx23
	// holds GoToSocial for two beside the pages: one machine costs what
	// the home does.
	want := `Monthly cost (EUR, incl. 19.00% VAT):
  server cx23                4.15
  primary IPv4               0.60
  primary IPv6               0.00
  volume 10 GB               0.52
  total                      5.27

With the group's new server (cx33) as well:
  on two machines           13.71  (home 5.27 + server 8.44)
  on one machine             5.27  (the home's cx23 holds both; 8.44 less)
lifeboat up puts the group's server on this machine once the home exists (--own-server for one of its own).
`
	if !strings.Contains(out, want) {
		t.Fatalf("plan printed:\n%s\nwant the cost:\n%s", out, want)
	}
	for _, w := range []string{"Campaign home for valley-cyclists", "https://join.valley-cyclists.example", "cx23: 2 vCPU, 4 GB RAM", "create   hcloud_volume.media[0]", "create   hcloud_server.main"} {
		if !strings.Contains(out, w) {
			t.Errorf("plan lacks %q:\n%s", w, out)
		}
	}
	out, errs, code = lb(t, state, "home", "plan", file, "--domain", "join.valley-cyclists.example", "--json")
	var plan hetzner.HomePlan
	if err := json.Unmarshal([]byte(out), &plan); code != 0 || err != nil {
		t.Fatalf("plan --json: exit %d, %v: %s %s", code, err, out, errs)
	}
	if plan.Cost.Monthly != 5.27 || plan.ServerType.Name != "cx23" || plan.Together == nil || plan.Together.OneServer != 5.27 || plan.Together.OneServerType != "cx23" || plan.Together.Resize {
		t.Errorf("plan --json: %+v", plan)
	}
	if !f.Empty() {
		t.Fatalf("plan created resources: %v", f.Counts())
	}

	out, errs, code = lb(t, state, "home", "up", file, "--domain", "join.valley-cyclists.example", "--ssh-from", "203.0.113.7", "--poll-interval", "50ms")
	if code != 0 {
		t.Fatalf("up: exit %d: %s", code, errs)
	}
	price := strings.Index(errs, "the home costs 5.27 EUR a month incl. 19.00% VAT (server cx23 4.15, primary IPv4 0.60, volume 10 GB 0.52)")
	apply := strings.Index(errs, "terraform apply")
	if price < 0 || apply < 0 || price > apply {
		t.Fatalf("up did not say the price before applying:\n%s", errs)
	}
	if !strings.Contains(out, "join.valley-cyclists.example.") || !strings.Contains(out, "total                      5.27") || len(f.Servers()) != 1 || len(f.Volumes()) != 1 {
		t.Fatalf("up printed:\n%s\n(%v)", out, f.Counts())
	}
	if strings.Contains(out, "Admin credentials") || !strings.Contains(out, "Not waiting for DNS and HTTPS") || !strings.Contains(out, "lifeboat-admin pledges status /etc/lifeboat/group.yaml") {
		t.Errorf("up printed:\n%s", out)
	}
	if strings.Contains(out+errs, f.Token) {
		t.Fatal("the token was printed")
	}

	if _, errs, code := lb(t, state, "home", "down", file, "--confirm", "someone-else"); code != 2 || !strings.Contains(errs, "nothing was destroyed") || len(f.Servers()) != 1 {
		t.Fatalf("down not confirmed: exit %d: %s", code, errs)
	}
	out, errs, code = lb(t, state, "home", "down", file, "--confirm", "valley-cyclists")
	if code != 0 || !strings.Contains(out, "Destroyed the campaign home of valley-cyclists") || strings.Contains(errs, "stopping after apply") || !f.Empty() {
		t.Fatalf("down: exit %d: %s %s (%v)", code, out, errs, f.Counts())
	}
	if g := f.Gone(); len(g) > 0 {
		t.Fatalf("home used what the API removed: %q", g)
	}
}
