package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/mailbox"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/provision/existing/existingtest"
)

// The launch is killed with SIGKILL while it mails the invites (through
// a real SMTP exchange with a loopback mailbox, each mail taking a
// moment), once two invites have arrived. Launching again says the
// group has launched already; "lifeboat serve" then sends every invite
// the killed launch did not finish, the one it was sending once its
// lease has run out. Every member ends with exactly one invite: one
// Message-ID each (a mail the server took just before the kill, and whose
// send was not yet written down, comes again with the same Message-ID, as
// docs/security.md says, and mail clients show it once).
func TestLaunchMailKill9(t *testing.T) {
	t.Parallel()
	bin, state := lifeboatBin(t), t.TempDir()
	const n = 5
	const name = "mail-storm"
	emails := make([]string, n)
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nname: %s\ntitle: Mail storm\nviable_mass: 3\nlead: {name: Member One, email: member1@example.org}\n"+
		"destination: {type: existing, server: %q}\nmembers:\n", name, existingtest.Mastodon(t, existingtest.Approval).URL)
	for i := range emails {
		emails[i] = fmt.Sprintf("member%d@example.org", i+1)
		fmt.Fprintf(&b, "  - {name: Member %d, email: %s}\n", i+1, emails[i])
	}
	file := filepath.Join(t.TempDir(), name+".yaml")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	// The admin of the existing server accepts the group, as in
	// TestLaunchWaitsForExistingAcceptance; everyone pledges.
	req, answer := filepath.Join(t.TempDir(), "request.json"), filepath.Join(t.TempDir(), "answer.json")
	for _, c := range []struct {
		state string
		args  []string
	}{
		{state, []string{"request", file, "--days", "7", "--out", req}},
		{t.TempDir(), []string{"admin", "review", req, "--accept", "--answer", answer}},
		{state, []string{"request", "accepted", file, answer}},
	} {
		if _, errs, code := lb(t, c.state, c.args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", c.args, code, errs)
		}
	}
	pledge(t, state, name, emails...)

	// Each mail takes 300 ms in the mailbox before it is accepted.
	var slow atomic.Bool
	slow.Store(true)
	mb, err := mailbox.Start("127.0.0.1:0", func(mailbox.Message) {
		if slow.Load() {
			time.Sleep(300 * time.Millisecond)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	smtp := []string{"--smtp-addr", mb.Addr, "--smtp-security", "none", "--smtp-from", "lifeboat@example.org"}
	launch := append([]string{"pledges", "launch", file, "--base-url", "https://lifeboat.example.org"}, smtp...)

	cmd := exec.Command(bin, launch...)
	cmd.Env = demoEnv(state)
	if !killGroupWhen(t, cmd, func() bool { return len(mb.Messages()) >= 2 }) {
		t.Fatalf("the launch was not killed while mailing; %d mails", len(mb.Messages()))
	}
	atKill := len(mb.Messages())
	t.Logf("killed the launch with %d of %d invites mailed", atKill, n)
	if atKill >= n {
		t.Fatal("every invite went out before the kill: the test proves nothing")
	}

	// Launching again finishes the mailing: every invite but the one in
	// flight at the kill (its lease has not passed) goes out, none twice.
	slow.Store(false)
	out, errs, code := lb(t, state, launch...)
	if code != 0 || !strings.Contains(out, "already launched") {
		t.Fatalf("launch again: exit %d: %s%s", code, out, errs)
	}
	if got := distinctRecipients(mb); got < n-1 {
		t.Fatalf("after launching again %d of %d members have their invite, want at least %d", got, n, n-1)
	}

	// serve sends what is due: every invite not sent, and the one in
	// flight at the kill once its two-minute lease has passed.
	addr := freeAddr(t)
	serve := exec.Command(bin, append([]string{"serve", file, "--addr", addr, "--base-url", "https://lifeboat.example.org"}, smtp...)...)
	serve.Env = demoEnv(state)
	stderr, err := serve.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { serve.Process.Kill(); serve.Wait() }()
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			t.Logf("serve: %s", sc.Text())
		}
	}()
	// Done when the journal has every invite sent, the one in flight at
	// the kill included.
	st, err := store.Open(context.Background(), store.Config{Dir: state})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	deadline := time.Now().Add(4 * time.Minute)
	for {
		steps, err := st.Journal().List(context.Background(), "web:"+name, "mail:invite:")
		if err != nil {
			t.Fatal(err)
		}
		sent := 0
		for _, s := range steps {
			if s.Status == store.StepDone {
				sent++
			}
		}
		if sent == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d invites sent after 4 minutes: %+v", sent, n, steps)
		}
		time.Sleep(500 * time.Millisecond)
	}
	for _, e := range emails {
		ids := map[string]bool{}
		for _, m := range mb.To(e) {
			if !strings.HasPrefix(m.Subject, "Your invite") {
				t.Errorf("%s got %q", e, m.Subject)
			}
			ids[m.Header.Get("Message-Id")] = true
		}
		if len(ids) != 1 {
			t.Errorf("%s got %d different invites (%d mails), want one", e, len(ids), len(mb.To(e)))
		}
		if c := len(mb.To(e)); c > 1 {
			t.Logf("%s got the same invite %d times (sent just before the kill)", e, c)
		}
	}
}

// distinctRecipients counts the members with at least one mail.
func distinctRecipients(mb *mailbox.Server) int {
	to := map[string]bool{}
	for _, m := range mb.Messages() {
		for _, r := range m.To {
			to[strings.ToLower(r)] = true
		}
	}
	return len(to)
}
