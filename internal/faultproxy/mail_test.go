package faultproxy_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/faultproxy"
	"github.com/lifeboat-social/lifeboat/internal/mailbox"
	"github.com/lifeboat-social/lifeboat/internal/mailer"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// Journaled mail through connections cut at random points before the end
// of each mail's data (the real loopback SMTP server on the other side):
// every mail arrives exactly once, and its copies carry the Message-ID of
// its key.
func TestMailThroughCutConnections(t *testing.T) {
	ctx := context.Background()
	mb, err := mailbox.Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	// A mail's envelope and data run well past 600 bytes, so every cut
	// lands before the server has the whole mail.
	p, err := faultproxy.StartTCP(mb.Addr, seed, 0.4, 600)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	st, err := store.Open(ctx, store.Config{Dir: filepath.Join(t.TempDir(), "state")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err := mailer.New(mailer.Config{Addr: p.Addr, Security: mailer.None, From: "lifeboat@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	j := &mailer.Journal{Sender: s, Steps: st.Journal(), Run: "launch:faults"}
	const n = 40
	body := strings.Repeat("Your invite to River Birders is below. ", 30)
	for i := 0; i < n; i++ {
		key := fmt.Sprintf("mail:invite:m%d", i)
		m := mailer.Message{To: fmt.Sprintf("m%d@example.org", i), Subject: "Your invite", Text: body}
		var sent bool
		for attempt := 0; attempt < 30 && !sent; attempt++ {
			ok, err := j.Send(ctx, key, m)
			if err == nil {
				sent = true
				if !ok {
					t.Fatalf("%s: the journal says sent before any send succeeded", key)
				}
			}
		}
		if !sent {
			t.Fatalf("%s never went through", key)
		}
	}
	cut, all := p.Cuts()
	if cut == 0 {
		t.Fatal("no connection was cut: the test proved nothing")
	}
	t.Logf("%d of %d connections cut", cut, all)
	for i := 0; i < n; i++ {
		got := mb.To(fmt.Sprintf("m%d@example.org", i))
		if len(got) != 1 {
			t.Errorf("m%d got %d copies, want 1", i, len(got))
			continue
		}
		want := "<" + mailer.MessageID("launch:faults", fmt.Sprintf("mail:invite:m%d", i)) + ">"
		if id := got[0].Header.Get("Message-Id"); id != want {
			t.Errorf("m%d: Message-ID %q, want %q", i, id, want)
		}
	}
}
