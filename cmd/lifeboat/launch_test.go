package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/mailbox"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/provision/existing/existingtest"
)

func statusJSON(t *testing.T, state, file string) pledgeStatus {
	t.Helper()
	out, errs, code := lb(t, state, "pledges", "status", file, "--json")
	if code != 0 {
		t.Fatalf("pledges status: exit %d: %s", code, errs)
	}
	var st pledgeStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return st
}

// The launch waits for a ready room, through the commands a lead uses:
// on an existing server, "pledges status" says the admin's acceptance is
// missing and "pledges launch" refuses naming it, until the lead's
// request is accepted with "admin review"; then the same launch mails the
// invites.
func TestLaunchWaitsForExistingAcceptance(t *testing.T) {
	state := t.TempDir()
	const file = "../../examples/existing-server.yaml"
	st := statusJSON(t, state, file)
	if st.DestinationReady || !strings.Contains(st.DestinationMissing, "admin has not accepted the group's admission request") ||
		!strings.Contains(st.DestinationMissing, "lifeboat request "+file) {
		t.Fatalf("fresh state: ready %v, missing %q", st.DestinationReady, st.DestinationMissing)
	}
	out, _, _ := lb(t, state, "pledges", "status", file)
	if !strings.Contains(out, "destination not ready: the server's admin has not accepted") {
		t.Errorf("status text:\n%s", out)
	}

	// Three members pledge: the group is viable, but the room is not ready.
	pledge(t, state, "harbour-knitters", "mara@example.org", "noor@example.org", "otto@example.org")
	mb, err := mailbox.Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	launch := []string{"pledges", "launch", file, "--base-url", "https://lifeboat.example.org",
		"--smtp-addr", mb.Addr, "--smtp-security", "none", "--smtp-from", "lifeboat@example.org"}
	_, errs, code := lb(t, state, launch...)
	if code != 1 || !strings.Contains(errs, "cannot launch yet: the server's admin has not accepted the group's admission request") {
		t.Fatalf("launch before acceptance: exit %d: %s", code, errs)
	}
	if n := len(mb.Messages()); n != 0 {
		t.Fatalf("%d mails sent by a refused launch", n)
	}

	// The lead writes the request; the admin accepts it and sends back
	// the signed answer, which the lead imports.
	srv := existingtest.Mastodon(t, existingtest.Approval).URL
	req := filepath.Join(t.TempDir(), "request.json")
	if _, errs, code := lb(t, state, "request", file, "--server", srv, "--days", "7", "--out", req); code != 0 {
		t.Fatalf("request: exit %d: %s", code, errs)
	}
	if st := statusJSON(t, state, file); st.DestinationReady {
		t.Fatal("ready before the admin decided")
	}
	answer := filepath.Join(t.TempDir(), "answer.json")
	if _, errs, code := lb(t, t.TempDir(), "admin", "review", req, "--accept", "--answer", answer); code != 0 {
		t.Fatalf("accept: exit %d: %s", code, errs)
	}
	if st := statusJSON(t, state, file); st.DestinationReady {
		t.Fatal("ready before the lead imported the admin's answer")
	}
	if _, errs, code := lb(t, state, "request", "accepted", file, answer); code != 0 {
		t.Fatalf("import the answer: exit %d: %s", code, errs)
	}
	st = statusJSON(t, state, file)
	if !st.DestinationReady || st.DestinationMissing != "" || !st.Viable {
		t.Fatalf("after acceptance: %+v", st)
	}
	out, errs, code = lb(t, state, launch...)
	if code != 0 || !strings.Contains(out, "launched") {
		t.Fatalf("launch after acceptance: exit %d: %s%s", code, out, errs)
	}
	for _, m := range []string{"mara", "noor", "otto"} {
		if n := len(mb.To(m + "@example.org")); n != 1 {
			t.Errorf("%s got %d mails, want the invite", m, n)
		}
	}
}

// A new server before "lifeboat up": not ready, and the launch says to
// run it.
func TestLaunchWaitsForNewServer(t *testing.T) {
	state := t.TempDir()
	const file = "../../examples/new-hetzner.yaml"
	st := statusJSON(t, state, file)
	if st.DestinationReady || !strings.Contains(st.DestinationMissing, "does not exist yet: run lifeboat up") {
		t.Fatalf("before up: ready %v, missing %q", st.DestinationReady, st.DestinationMissing)
	}
	mb, err := mailbox.Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	_, errs, code := lb(t, state, "pledges", "launch", file, "--base-url", "https://lifeboat.example.org",
		"--smtp-addr", mb.Addr, "--smtp-security", "none", "--smtp-from", "lifeboat@example.org")
	if code != 1 || !strings.Contains(errs, "cannot launch yet: the new server does not exist yet: run lifeboat up") {
		t.Fatalf("launch before up: exit %d: %s", code, errs)
	}
}

// pledge records confirmed, unconditional pledges in the state's store,
// as the pledge pages would.
func pledge(t *testing.T, state, group string, emails ...string) {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, store.Config{Dir: state})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	for _, e := range emails {
		if err := s.Pledges().Put(ctx, store.Pledge{Group: group, Email: e, Confirmed: true, CreatedAt: now, UpdatedAt: now, ConfirmedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
}
