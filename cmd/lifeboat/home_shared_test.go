package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/hcloudfake"
	"github.com/lifeboat-social/lifeboat/internal/tools"
	"github.com/lifeboat-social/lifeboat/provision/hetzner"
)

// writeSharedGroup writes a group file for a new GoToSocial server on Hetzner
// and returns its path.
func writeSharedGroup(t *testing.T, text string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "cyclists.yaml")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// fakeHetzner starts the fake Hetzner API and points the commands at it.
func fakeHetzner(t *testing.T) *hcloudfake.Fake {
	t.Helper()
	f := hcloudfake.New().Start()
	t.Cleanup(f.Close)
	t.Setenv("HCLOUD_ENDPOINT", f.URL())
	t.Setenv("HCLOUD_TOKEN", f.Token)
	t.Setenv(hetzner.EnvLifeboatFrom, "https://mirror.example/lifeboat")
	return f
}

// terraformTools are Terraform and the hcloud provider's mirror, for
// commands run as separate processes.
func terraformTools(ctx context.Context, t *testing.T) (terraform, mirror string) {
	t.Helper()
	in := tools.New()
	terraform, err := in.Terraform(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if mirror, err = in.HcloudMirror(ctx); err != nil {
		t.Fatal(err)
	}
	return terraform, mirror
}

const sharedGroup = `version: 1
name: valley-cyclists
title: Valley Cyclists
viable_mass: 2
lead: {name: Quinn, email: quinn@example.org}
destination: {type: new, domain: social.valley-cyclists.example, cloud: hetzner, location: fsn1, server_type: cx33}
members:
  - {name: Quinn, email: quinn@example.org}
  - {name: Rosa, email: rosa@example.org}
`

// TestUpOnCampaignHome: with a campaign home made by home up, plan and up
// for the group's new GoToSocial server use the home's machine, against
// the stateful fake of the Hetzner API with real Terraform and the real
// provider. Plan says so and prices the one machine; up creates nothing
// in the cloud and prints the group domain's records pointing at the
// home; --own-server is refused while the server lives there; home down
// refuses and names what to run first; down takes the server off the
// home and leaves the home; then home down destroys it.
func TestUpOnCampaignHome(t *testing.T) {
	f := fakeHetzner(t)
	state := t.TempDir()
	file := writeSharedGroup(t, sharedGroup)
	dest := filepath.Join(state, "groups", "valley-cyclists", "hetzner")

	// No home yet: plan is for a server of its own, as before.
	out, errs, code := lb(t, state, "plan", file, "--ssh-from", "203.0.113.7")
	if code != 0 || !strings.Contains(out, "create   hcloud_server.main") || strings.Contains(out, "campaign home") {
		t.Fatalf("plan without a home: exit %d\n%s%s", code, out, errs)
	}

	if _, errs, code := lb(t, state, "home", "up", file, "--domain", "join.valley-cyclists.example", "--ssh-from", "203.0.113.7", "--poll-interval", "50ms"); code != 0 {
		t.Fatalf("home up: exit %d: %s", code, errs)
	}
	home := f.Counts()
	if len(f.Servers()) != 1 {
		t.Fatalf("home up made %v", home)
	}
	homeIP := f.Servers()[0].PublicNet.IPv4.IP
	// A home plan for elsewhere changes nothing that runs: the group's
	// server is planned on the machine the state holds.
	if _, errs, code := lb(t, state, "home", "plan", file, "--domain", "join.valley-cyclists.example", "--location", "nbg1"); code != 0 {
		t.Fatalf("home plan: exit %d: %s", code, errs)
	}

	out, errs, code = lb(t, state, "plan", file)
	if code != 0 {
		t.Fatalf("plan: exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"on         the campaign home lifeboat-valley-cyclists-home (https://join.valley-cyclists.example) in fsn1",
		"server     cx23: 2 vCPU, 4 GB RAM, 40 GB disk (x86), the home's",
		"no second server is made. lifeboat up --own-server makes one instead.",
		"One machine for both, the home's:\nMonthly cost (EUR, incl. 19.00% VAT):\n  server cx23                4.15\n  primary IPv4               0.60\n  primary IPv6               0.00\n  volume 10 GB               0.52\n  total                      5.27\n",
		"warning: the group file's server_type cx33 is not used",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hcloud_server") || strings.Contains(out, "Too small") {
		t.Errorf("plan on the home lists resources or a resize:\n%s", out)
	}
	out, _, code = lb(t, state, "plan", file, "--json")
	var plan hetzner.Plan
	if err := json.Unmarshal([]byte(out), &plan); code != 0 || err != nil {
		t.Fatalf("plan --json: exit %d, %v: %s", code, err, out)
	}
	if o := plan.OnHome; o == nil || !o.Fits || o.NeedGB != 2 || plan.Cost.Monthly != 5.27 || len(plan.Resources) != 0 {
		t.Errorf("plan --json: %+v %+v", plan, plan.OnHome)
	}
	// A lead who wants two machines still sees that plan.
	out, _, code = lb(t, state, "plan", file, "--own-server")
	if code != 0 || !strings.Contains(out, "create   hcloud_server.main") || !strings.Contains(out, "server cx33") {
		t.Errorf("plan --own-server: exit %d\n%s", code, out)
	}
	if fmt.Sprint(f.Counts()) != fmt.Sprint(home) {
		t.Fatalf("plan created resources: %v", f.Counts())
	}

	out, errs, code = lb(t, state, "up", file, "--poll-interval", "50ms")
	if code != 0 {
		t.Fatalf("up: exit %d: %s", code, errs)
	}
	if fmt.Sprint(f.Counts()) != fmt.Sprint(home) {
		t.Fatalf("up on the home changed the cloud: %v, the home alone is %v", f.Counts(), home)
	}
	for _, want := range []string{
		"It is the campaign home's machine: GoToSocial for social.valley-cyclists.example runs there behind its Caddy; no second server was made.",
		"social.valley-cyclists.example.          300   IN A     " + homeIP,
		"Not installing GoToSocial on the home yet, nor waiting.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("up lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errs, "GoToSocial goes on the campaign home lifeboat-valley-cyclists-home: no second server; the one machine costs 5.27 EUR") {
		t.Errorf("up did not say where and at what price:\n%s", errs)
	}
	if _, err := os.Stat(filepath.Join(dest, "on-home.json")); err != nil {
		t.Fatalf("up did not record the placement: %v", err)
	}
	if _, errs, code := lb(t, state, "up", file, "--own-server"); code != 2 || !strings.Contains(errs, "lifeboat down GROUP.yaml takes it off") {
		t.Errorf("up --own-server on the home: exit %d: %s", code, errs)
	}

	// The home holds the group's server: home down refuses, naming down.
	if _, errs, code := lb(t, state, "home", "down", file, "--confirm", "valley-cyclists"); code != 2 ||
		!strings.Contains(errs, "the group's new server lives on the campaign home (GoToSocial for social.valley-cyclists.example): run lifeboat down GROUP.yaml first") {
		t.Fatalf("home down under the server: exit %d: %s", code, errs)
	}
	if fmt.Sprint(f.Counts()) != fmt.Sprint(home) {
		t.Fatalf("the refused home down changed the cloud: %v", f.Counts())
	}

	out, errs, code = lb(t, state, "down", file, "--confirm", "valley-cyclists")
	if code != 0 || !strings.Contains(out, "Took GoToSocial for valley-cyclists off the campaign home, which keeps running.") {
		t.Fatalf("down: exit %d: %s %s", code, out, errs)
	}
	if fmt.Sprint(f.Counts()) != fmt.Sprint(home) {
		t.Fatalf("down of the server on the home changed the cloud: %v, the home is %v", f.Counts(), home)
	}
	if _, err := os.Stat(filepath.Join(dest, "on-home.json")); err == nil {
		t.Fatal("down kept the placement")
	}
	out, _, code = lb(t, state, "home", "down", file, "--confirm", "valley-cyclists")
	if code != 0 || !strings.Contains(out, "Destroyed the campaign home") || !f.Empty() {
		t.Fatalf("home down: exit %d: %s (%v)", code, out, f.Counts())
	}
	if strings.Contains(out+errs, f.Token) {
		t.Fatal("the token was printed")
	}
}

// TestPlanOnHomeTooSmall: a group larger than the home's machine holds
// beside the pages gets told so by plan, with the type to resize the home
// to (the fake's current types), and up refuses with the same words,
// making nothing and recording nothing.
func TestPlanOnHomeTooSmall(t *testing.T) {
	f := fakeHetzner(t)
	state := t.TempDir()
	// Open enrolment: 800 people to gather, most from the public page.
	file := writeSharedGroup(t, strings.Replace(sharedGroup, "viable_mass: 2\n", "viable_mass: 800\nenrolment: open\n", 1))
	if _, errs, code := lb(t, state, "home", "up", file, "--domain", "join.valley-cyclists.example", "--ssh-from", "203.0.113.7", "--poll-interval", "50ms"); code != 0 {
		t.Fatalf("home up: exit %d: %s", code, errs)
	}
	home := f.Counts()
	out, errs, code := lb(t, state, "plan", file)
	if code != 0 {
		t.Fatalf("plan: exit %d: %s", code, errs)
	}
	reason := "the campaign home's cx23 (4 GB) is too small for GoToSocial for 800 people beside the campaign's pages (5 GB needed): resize the home to cx33 (4 vCPU, 8 GB RAM, 80 GB disk) 6.53 EUR/month with lifeboat home up GROUP.yaml --server-type cx33 (the home restarts once, its disk grows to the type's), or pass --own-server for a server of its own"
	if !strings.Contains(out, "Too small: "+reason) || !strings.Contains(out, "Resized to cx33, the one machine costs 7.65 EUR a month.") {
		t.Errorf("plan:\n%s", out)
	}
	_, errs, code = lb(t, state, "up", file)
	if code != 2 || !strings.Contains(errs, reason) {
		t.Errorf("up on a home too small: exit %d: %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(state, "groups", "valley-cyclists", "hetzner", "on-home.json")); err == nil || fmt.Sprint(f.Counts()) != fmt.Sprint(home) {
		t.Errorf("the refused up recorded a placement or changed the cloud (%v)", f.Counts())
	}
	// The home's plan prices one machine resized.
	out, _, _ = lb(t, state, "home", "plan", file, "--domain", "join.valley-cyclists.example")
	if !strings.Contains(out, "on one machine             7.65  (the home resized to cx33 holds both; ") {
		t.Errorf("home plan:\n%s", out)
	}

	// The lead resizes the home as told: the same server, rescaled in
	// place (powered off, its type changed, its disk grown, powered on).
	id := f.Servers()[0].ID
	if _, errs, code := lb(t, state, "home", "up", file, "--domain", "join.valley-cyclists.example", "--server-type", "cx33", "--poll-interval", "50ms"); code != 0 {
		t.Fatalf("home up --server-type cx33: exit %d: %s", code, errs)
	}
	if s := f.Servers(); len(s) != 1 || s[0].ID != id || s[0].ServerType.Name != "cx33" || s[0].PrimaryDiskSize != 80 || s[0].Status != "running" || fmt.Sprint(f.Counts()) != fmt.Sprint(home) {
		t.Fatalf("after the resize the API holds %+v (%v)", s, f.Counts())
	}
	// A later home up keeps the type the home runs with.
	if out, errs, code := lb(t, state, "home", "plan", file, "--domain", "join.valley-cyclists.example"); code != 0 || !strings.Contains(out, "cx33: 4 vCPU, 8 GB RAM, 80 GB disk (x86), the home's own") || strings.Contains(out, "update   hcloud_server.main") {
		t.Fatalf("home plan after the resize: exit %d\n%s%s", code, out, errs)
	}
	out, errs, code = lb(t, state, "plan", file)
	if code != 0 || strings.Contains(out, "Too small") || !strings.Contains(out, "server cx33                6.53") || !strings.Contains(out, "total                      7.65") {
		t.Fatalf("plan after the resize: exit %d\n%s%s", code, out, errs)
	}
	if out, errs, code := lb(t, state, "up", file); code != 0 || !strings.Contains(out, "no second server was made") || fmt.Sprint(f.Counts()) != fmt.Sprint(home) {
		t.Fatalf("up after the resize: exit %d\n%s%s", code, out, errs)
	}
	// A type that cannot be ordered where the home is, or that would
	// shrink its disk, is refused.
	if _, errs, code := lb(t, state, "home", "plan", file, "--domain", "join.valley-cyclists.example", "--server-type", "cx53"); code != 2 || !strings.Contains(errs, "cx53") {
		t.Errorf("home plan --server-type cx53 (sold out in fsn1): exit %d: %s", code, errs)
	}
}

// TestUpOnHomeSurvivesKill9: `lifeboat up` for a server on the campaign
// home killed with SIGKILL while it asks the API for prices (the call
// made to hang), then run again: it goes on, records the placement once,
// and the cloud holds the home alone, as after a clean run; down leaves
// the home, home down leaves nothing. (The install over SSH cut off
// half-way is TestCloudInitBootCampaignHome's.)
func TestUpOnHomeSurvivesKill9(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	tf, mirror := terraformTools(ctx, t)
	bin := lifeboatBin(t)
	file := writeSharedGroup(t, sharedGroup)
	f := hcloudfake.New().Start()
	defer f.Close()
	state := t.TempDir()
	env := append(demoEnv(state), "HCLOUD_TOKEN="+f.Token, "HCLOUD_ENDPOINT="+f.URL(),
		"LIFEBOAT_TERRAFORM="+tf, "LIFEBOAT_HCLOUD_MIRROR="+mirror, hetzner.EnvLifeboatFrom+"=https://mirror.example/lifeboat")
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("lifeboat %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("home", "up", file, "--domain", "join.valley-cyclists.example", "--ssh-from", "203.0.113.7", "--poll-interval", "50ms")
	home := f.Counts()

	f.Inject(hcloudfake.Fault{Method: "GET", Path: "/pricing", Hang: true, Times: -1})
	cmd := exec.CommandContext(ctx, bin, "up", file)
	cmd.Env = env
	hanging := func() bool {
		return slices.ContainsFunc(f.Calls(), func(c string) bool { return strings.HasPrefix(c, "GET /pricing") })
	}
	if !killGroupWhen(t, cmd, hanging) {
		t.Fatalf("up was not killed while it asked for prices; calls: %v", f.Calls())
	}
	f.ClearFaults()
	if fmt.Sprint(f.Counts()) != fmt.Sprint(home) {
		t.Fatalf("the killed up changed the cloud: %v", f.Counts())
	}
	for range 2 {
		if out := run("up", file); !strings.Contains(out, "no second server was made") {
			t.Fatalf("up after the kill:\n%s", out)
		}
		if fmt.Sprint(f.Counts()) != fmt.Sprint(home) {
			t.Fatalf("up after the kill left %v; the home alone is %v", f.Counts(), home)
		}
	}
	if out := run("down", file, "--confirm", "valley-cyclists"); !strings.Contains(out, "off the campaign home") || fmt.Sprint(f.Counts()) != fmt.Sprint(home) {
		t.Fatalf("down: %v\n%s", f.Counts(), out)
	}
	run("home", "down", file, "--confirm", "valley-cyclists")
	if !f.Empty() {
		t.Fatalf("home down left %v", f.Counts())
	}
}

// TestHomeUpRefusesReplacingSharedHome: with the group's GoToSocial on
// the campaign home, a home up whose plan replaces the home's server
// (another location: Hetzner cannot move a server, so the provider makes
// a new one) is refused with exit 2 and what to do, and changes nothing
// in the fake Hetzner API (real Terraform, real provider): no call that
// writes, the same server where it was, the variables as they were. Once
// the group's server is off the home, the same change is shown and needs
// the group's name typed, as down does; not given, nothing changes.
func TestHomeUpRefusesReplacingSharedHome(t *testing.T) {
	f := fakeHetzner(t)
	state := t.TempDir()
	file := writeSharedGroup(t, sharedGroup)
	homeArgs := []string{"home", "up", file, "--domain", "join.valley-cyclists.example", "--ssh-from", "203.0.113.7", "--poll-interval", "50ms"}
	if _, errs, code := lb(t, state, homeArgs...); code != 0 {
		t.Fatalf("home up: exit %d: %s", code, errs)
	}
	if _, errs, code := lb(t, state, "up", file, "--poll-interval", "50ms"); code != 0 {
		t.Fatalf("up: exit %d: %s", code, errs)
	}
	before := f.Servers()
	counts := fmt.Sprint(f.Counts())
	vars := filepath.Join(state, "groups", "valley-cyclists", "home", "vars.tfvars.json")
	varsBefore, err := os.ReadFile(vars)
	if len(before) != 1 || err != nil {
		t.Fatalf("the home: %+v %v", before, err)
	}
	writes := func() (n int) {
		for _, c := range f.Calls() {
			if !strings.HasPrefix(c, "GET ") {
				n++
			}
		}
		return n
	}
	unchanged := func(t *testing.T, what string) {
		t.Helper()
		after := f.Servers()
		if fmt.Sprint(f.Counts()) != counts || len(after) != 1 || after[0].ID != before[0].ID || after[0].Location.Name != "fsn1" {
			t.Errorf("%s changed the cloud: %v %+v", what, f.Counts(), after)
		}
		if b, _ := os.ReadFile(vars); string(b) != string(varsBefore) {
			t.Errorf("%s left the variables changed", what)
		}
	}
	w := writes()

	_, errs, code := lb(t, state, append(homeArgs, "--location", "nbg1", "--confirm", "valley-cyclists")...)
	for _, want := range []string{
		"replace hcloud_server.main (location cannot change in place)",
		"Refused: the group's new server lives on the campaign home (GoToSocial for social.valley-cyclists.example).",
		"Nothing was changed. Run lifeboat down GROUP.yaml first",
		"such as --server-type (the home is resized in place)",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("home up --location nbg1 lacks %q:\n%s", want, errs)
		}
	}
	if code != 2 || writes() != w {
		t.Errorf("home up --location nbg1 under the group's server: exit %d, %d calls that write", code, writes()-w)
	}
	unchanged(t, "the refused home up")
	if _, errs, code := lb(t, state, homeArgs...); code != 0 || writes() != w {
		t.Fatalf("home up as it was: exit %d, %d calls that write: %s", code, writes()-w, errs)
	}
	unchanged(t, "home up as it was")

	// No group's server on the home: the replacement is shown and must be
	// confirmed.
	if _, errs, code := lb(t, state, "down", file, "--confirm", "valley-cyclists"); code != 0 {
		t.Fatalf("down: exit %d: %s", code, errs)
	}
	w = writes()
	_, errs, code = lbIn(t, state, "valley-cyclist\n", append(homeArgs, "--location", "nbg1")...)
	if code != 2 || !strings.Contains(errs, "replace hcloud_server.main (location cannot change in place)") ||
		!strings.Contains(errs, "This replaces the campaign home's server (see above).\nType the group's name (valley-cyclists) to go on: ") ||
		!strings.Contains(errs, "not confirmed") || writes() != w {
		t.Errorf("home up --location nbg1, not confirmed: exit %d, %d calls that write:\n%s", code, writes()-w, errs)
	}
	unchanged(t, "the unconfirmed home up")
	// home plan shows it too.
	if out, errs, code := lb(t, state, "home", "plan", file, "--domain", "join.valley-cyclists.example", "--location", "nbg1"); code != 0 ||
		!strings.Contains(out, "replace  hcloud_server.main (location cannot change in place)") {
		t.Errorf("home plan --location nbg1: exit %d\n%s%s", code, out, errs)
	}
}
