package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/mailbox"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// configuredRelay is a real SMTP peer on loopback, set as the relay of
// the configuration.
func configuredRelay(t *testing.T) *mailbox.Server {
	t.Helper()
	mb, err := mailbox.Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mb.Close() })
	t.Setenv("LIFEBOAT_SMTP_ADDR", mb.Addr)
	t.Setenv("LIFEBOAT_SMTP_SECURITY", "none")
	t.Setenv("LIFEBOAT_SMTP_FROM", "lifeboat@example.org")
	return mb
}

// The TUI's approve and decline go through the same server as lifeboat
// members review, over the configured SMTP relay (a real one on loopback
// here): the approved person gets their pledge link, the declined one
// one polite mail, however often they are declined.
func TestTUIDecideMails(t *testing.T) {
	mb := configuredRelay(t)
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	file := filepath.Join(dir, "reed-beds.yaml")
	if err := os.WriteFile(file, []byte(membersGroup), 0o644); err != nil {
		t.Fatal(err)
	}
	joins(t, state, "reed-beds", store.Join{Name: "Ann Rail", Email: "ann@example.net"}, store.Join{Name: "Bob Bittern", Email: "bob@example.net"})
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{Dir: state})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []string{"ann@example.net", "bob@example.net"} {
		if err := st.Joins().Confirm(ctx, "reed-beds", e, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	app := &App{Stdout: io.Discard, Stderr: io.Discard, StateDir: state}
	defer app.Close()
	const base = "https://lifeboat.example.org"
	if err := tuiDecide(ctx, app, file, base, "ann@example.net", true); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := tuiDecide(ctx, app, file, base, "bob@example.net", false); err != nil {
			t.Fatal(err)
		}
	}
	if m := mb.To("ann@example.net"); len(m) != 1 || !strings.Contains(m[0].Text, base+"/pledge/") {
		t.Errorf("ann got %d mails, want one with her pledge link", len(m))
	}
	if m := mb.To("bob@example.net"); len(m) != 1 {
		t.Errorf("bob got %d mails after two declines, want one", len(m))
	}
	ps := membersJSON(t, state, file)
	got := map[string]string{}
	for _, p := range ps {
		got[p.Email] = p.Approval
	}
	if got["ann@example.net"] != "approved" || got["bob@example.net"] != "declined" {
		t.Errorf("approvals %v", got)
	}
}
