package tui

import (
	"context"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/provision/existing/admission"
	"github.com/lifeboat-social/lifeboat/provision/existing/existingtest"
)

// Text from a request, a server or a member is rendered with its control
// characters made visible: the screens below hold the hostile string in
// every field they show, and the rendered View holds no control or bidi
// character (colour is off in tests, so the View has no escapes of its
// own).

const hostile = existingtest.Hostile

// shown is how the hostile string looks on screen, in part.
const shown = `\x1b[2J\x1b[H\x1b]0;pwned\x07`

func assertHarmlessView(t *testing.T, v string) {
	t.Helper()
	for i, r := range v {
		if r == '\n' {
			continue
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || (r >= 0x202a && r <= 0x202e) ||
			(r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f {
			t.Fatalf("the screen holds %U at byte %d: …%q…\n%s", r, i, v[max(0, i-30):min(len(v), i+30)], v)
		}
	}
	if !strings.Contains(v, shown) {
		t.Fatalf("the hostile text is not shown:\n%s", v)
	}
}

func TestHostileRequestOnAdminScreen(t *testing.T) {
	eachSize(t, func(t *testing.T, size [2]int) {
		f := newFixture(t)
		srv := existingtest.HostileMastodon(t).URL
		req, err := admission.New(admission.Draft{
			Server:  srv,
			Group:   admission.Group{Name: "knitters" + hostile, Title: "Harbour Knitters" + hostile},
			Lead:    admission.Contact{Name: "Mara" + hostile, Email: "mara@example.org" + hostile},
			Emails:  members,
			Window:  admission.Window{From: fixedNow.Add(-time.Hour), Until: fixedNow.Add(7 * 24 * time.Hour)},
			Rules:   []string{"Be kind" + hostile, hostile},
			Message: "Hello\nsecond line" + hostile,
		}, groupKey(), fixedNow.Add(-2*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(f.dir, "request.json"), req.Encode(), 0o644); err != nil {
			t.Fatal(err)
		}
		// the server's current rules are hostile too, and not in the request
		m := play(t, size, New(context.Background(), f.d, f.file), waitFor("Jamal"), press("6"), waitFor("No admission requests"),
			press("o"), waitFor("Open an admission request"), press("~/request.json<enter>"), waitFor("of your current rules are not"),
			press("a"), waitFor("Message to the group"), press("<enter>"), waitFor("y yes"))
		v := m.View()
		assertHarmlessView(t, v)
		if !strings.Contains(v, admission.Fingerprint(groupKey().Public().(ed25519.PublicKey))) {
			t.Fatalf("no fingerprint:\n%s", v)
		}
	})
}

func TestHostileServerOnDestinationScreen(t *testing.T) {
	eachSize(t, func(t *testing.T, size [2]int) {
		f := newFixture(t)
		srv := existingtest.HostileMastodon(t).URL
		m := play(t, size, New(context.Background(), f.d, f.file), waitFor("Jamal"), press("3"), waitFor("Local"),
			press("<down>s"), waitFor("Scout existing servers"), press(srv+"<enter>"), waitFor("Scouted for 12"))
		assertHarmlessView(t, m.View())
	})
}

func TestHostileMembersOnArrivalsScreen(t *testing.T) {
	eachSize(t, func(t *testing.T, size [2]int) {
		f := newFixture(t)
		g, _ := groups.Load(f.file)
		g.Title += hostile
		g.Members[0].Name += hostile
		g.Members[1].Email += hostile
		m := NewArrivals(context.Background(), f.d, g)
		steps := []step{}
		for _, msg := range arrivalEvents(g, 3, 0) {
			steps = append(steps, step{msg: msg})
		}
		steps = append(steps,
			step{msg: EventMsg{Kind: progress.Failed, Step: "arrivals", Item: g.Members[2].Email, Message: "server said: " + hostile}},
			step{msg: DoneMsg{Err: errors.New("arrivals: " + hostile)}}, waitFor("the launch failed"))
		assertHarmlessView(t, play(t, size, arrivalsModel{m}, steps...).View())
	})
}

// TestHostileSignUpInWatchLog: the watcher's log shows a pending
// sign-up's username, which its author chose, with escapes made visible.
func TestHostileSignUpInWatchLog(t *testing.T) {
	f, srv, _ := adminWatchFixture(t)
	srv.mu.Lock()
	srv.later = append(srv.later, signUp{"9", "mallory" + hostile, "mallory@example.org", "let me in" + hostile})
	srv.mu.Unlock()
	t.Setenv("LIFEBOAT_ADMIN_TOKEN", srv.token)
	m := play(t, sizes[1], New(context.Background(), f.d, f.file), waitFor("Jamal"), press("6"), waitFor("Harbour Knitters"),
		press("w"), waitFor("Press u"), press("u"), waitFor("Your server"),
		press(srv.URL+"<enter><enter><enter>"), waitFor("leave @mallory"))
	assertHarmlessView(t, m.View())
}
