package tui

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/lifeboat-social/lifeboat/escape/arrival"
	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/lead"
	"github.com/lifeboat-social/lifeboat/provision/existing/admission"
	"github.com/lifeboat-social/lifeboat/provision/existing/existingtest"
)

// withJoins makes the fixture's group take joins with the lead's
// approval and has two people join from the join page, both confirmed.
func (f *fixture) withJoins(t *testing.T) *groups.Group {
	t.Helper()
	data, err := os.ReadFile(f.file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.file, append(data, "enrolment: approval\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	g, probs := groups.Load(f.file)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	ctx := context.Background()
	if err := f.d.Desk.Remember(ctx, g, f.file); err != nil {
		t.Fatal(err)
	}
	for _, j := range []store.Join{
		{Name: "Zoe Avocet", Email: "zoe@example.net", X: "zoeavocet", Bluesky: "zoe.bsky.social", CreatedAt: fixedNow.Add(-2 * time.Hour)},
		{Name: "Yann Shrike", Email: "yann@example.net", Fediverse: "@yann@birds.example", CreatedAt: fixedNow.Add(-time.Hour)},
	} {
		if err := campaign.Enrol(ctx, f.st, g, j); err != nil {
			t.Fatal(err)
		}
		if err := f.st.Joins().Confirm(ctx, g.Name, j.Email, fixedNow); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

// The pledges screen says how many people wait; m lists who joined; a approves the first, d and
// y decline the second, through the same code as lifeboat members
// review: the roster has the one and not the other, the screen says so,
// and each got one mail through a real SMTP peer. Declining again, in
// a new session, mails nothing more.
func TestMembersApproveAndDecline(t *testing.T) {
	f := newFixture(t)
	f.toExisting(t)
	g := f.withJoins(t)
	mb, sender := relay(t)
	decided := 0
	f.d.Decide = func(ctx context.Context, file, baseURL, email string, approve bool) error {
		decided++
		return f.groupServer(t, ctx, file, baseURL, sender).Decide(ctx, email, approve)
	}
	m := play(t, sizes[0], New(context.Background(), f.d, f.file), waitFor("Jamal"), press("2"),
		waitFor("2 from the join page, 2 wait for your decision (m)"), press("m"), waitFor("handles          x:zoeavocet bsky:zoe.bsky.social"),
		press("a"), waitFor("Public URL"), press("https://lifeboat.example.org<enter>"), waitFor("approved Zoe Avocet"),
		press("j"), waitFor("fedi:@yann@birds.example"), press("d"), waitFor("They get one polite mail. y/n"), press("y"),
		waitFor("0 wait for your decision"))
	v := m.View()
	for _, want := range []string{"approved", "declined", "2 joined, 0 wait for your decision"} {
		if !strings.Contains(v, want) {
			t.Errorf("the members view lacks %q:\n%s", want, v)
		}
	}

	people, err := campaign.People(context.Background(), f.st, g)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]campaign.Person{}
	for _, p := range people {
		got[p.Email] = p
	}
	if z := got["zoe@example.net"]; z.Approval != "approved" || !z.Member {
		t.Errorf("Zoe after approval: %+v", z)
	}
	if y := got["yann@example.net"]; y.Approval != "declined" || y.Member {
		t.Errorf("Yann after decline: %+v", y)
	}
	if zm := mb.To("zoe@example.net"); len(zm) != 1 || !strings.Contains(zm[0].Text, "https://lifeboat.example.org/pledge/") {
		t.Errorf("Zoe got %d mails, want one welcome with her pledge link", len(zm))
	}
	if ym := mb.To("yann@example.net"); len(ym) != 1 {
		t.Errorf("Yann got %d mails, want one polite refusal", len(ym))
	}

	play(t, sizes[0], New(context.Background(), f.d, f.file), waitFor("Jamal"), press("2"), waitFor("would go now"),
		press("m"), waitFor("0 wait for your decision"), press("j"), press("d"), waitFor("y/n"), press("y"),
		waitFor("Public URL"), press("https://lifeboat.example.org<enter>"), waitFor("declined Yann Shrike"))
	if decided != 3 {
		t.Errorf("%d decisions reached the server, want 3", decided)
	}
	if ym := mb.To("yann@example.net"); len(ym) != 1 {
		t.Errorf("Yann got %d mails after a second decline, want still one", len(ym))
	}
	if n := len(mb.To("zoe@example.net")); n != 1 {
		t.Errorf("Zoe got %d mails after Yann's second decline, want still one", n)
	}
}

// A decline is asked about first: n leaves the person as they were and
// nothing reaches the server.
func TestMembersDeclineAsksFirst(t *testing.T) {
	f := newFixture(t)
	g := f.withJoins(t)
	f.d.Decide = func(context.Context, string, string, string, bool) error {
		t.Error("a decision reached the server after n")
		return nil
	}
	play(t, sizes[0], New(context.Background(), f.d, f.file), waitFor("Jamal"), press("2"), waitFor("would go now"),
		press("m"), waitFor("2 wait for your decision"), press("d"), waitFor("y/n"), press("n"), waitFor("Zoe Avocet not declined"))
	people, err := campaign.People(context.Background(), f.st, g)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range people {
		if p.Source == campaign.SourceJoin && p.Approval != "pending" {
			t.Errorf("%s: %s, want still pending", p.Email, p.Approval)
		}
	}
}

// Without the hook the members view names the command that decides.
func TestMembersWithoutDecideNamesTheCommand(t *testing.T) {
	f := newFixture(t)
	f.withJoins(t)
	play(t, sizes[0], New(context.Background(), f.d, f.file), waitFor("Jamal"), press("2"), waitFor("would go now"),
		press("m"), waitFor("2 wait for your decision"), press("a"),
		waitFor("run: lifeboat members review ~/river-birders.yaml --approve zoe@"))
}

// A server's daily follow limit holding the mesh shows on the arrivals
// screen in the room's own sentence (arrival.Room.Progress), the one the
// members' arrival page shows.
func TestArrivalsShowTheHeldMesh(t *testing.T) {
	f := newFixture(t)
	g, _ := groups.Load(f.file)
	s := newArrivals(f.d)
	s.Update(groupLoadedMsg{group: g})
	s.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	room := arrival.Room{Arrived: 20, Accounts: 20, Follows: 312, FollowsTotal: 380, ResumeAt: time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC)}
	before := strings.Join(strings.Fields(s.View()), " ")
	s.Update(arrivalsLoadedMsg{group: g.Name, room: room})
	v := strings.Join(strings.Fields(s.View()), " ")
	want := "312 of 380 follows made; the rest after 00:00 UTC tomorrow"
	if !strings.Contains(v, want) || !strings.Contains(v, room.Progress(fixedNow)) {
		t.Errorf("the arrivals screen lacks %q:\n%s", want, s.View())
	}
	if strings.Contains(before, "follows made") {
		t.Errorf("a mesh shown before anyone arrived:\n%s", before)
	}
	room.Follows, room.ResumeAt = 380, time.Time{}
	s.Update(arrivalsLoadedMsg{group: g.Name, room: room})
	if v := strings.Join(strings.Fields(s.View()), " "); !strings.Contains(v, "All 380 follows between the 20 members who have arrived are made.") {
		t.Errorf("the finished mesh is not said:\n%s", s.View())
	}
}

// What a person typed on the join page reaches the members view through
// the sanitiser: their name, email and handles.
func TestHostileJoinOnMembersView(t *testing.T) {
	f := newFixture(t)
	g := f.withJoins(t)
	if err := campaign.Enrol(context.Background(), f.st, g, store.Join{Name: "Zed" + hostile, Email: "zed@example.net", X: hostile, Bluesky: hostile}); err != nil {
		t.Fatal(err)
	}
	m := play(t, sizes[1], New(context.Background(), f.d, f.file), waitFor("Jamal"), press("2"), waitFor("would go now"),
		press("m"), waitFor("email confirmed  no"))
	assertHarmlessView(t, m.View())
}

// The members view follows the store: a person who joins while the lead
// looks appears with the screen's next refresh.
func TestMembersViewRefreshes(t *testing.T) {
	f := newFixture(t)
	g := f.withJoins(t)
	play(t, sizes[0], New(context.Background(), f.d, f.file), waitFor("Jamal"), press("2"), waitFor("would go now"),
		press("m"), waitFor("2 wait for your decision"), meanwhile(func() {
			if err := campaign.Enrol(context.Background(), f.st, g, store.Join{Name: "Xavi Tern", Email: "xavi@example.net"}); err != nil {
				t.Error(err)
			}
		}), waitFor("Xavi Tern"))
}

// On an existing server, the pledges screen warns when people joined
// after the admin accepted the group's request: the server will not
// approve them until the lead sends an amendment, which it names.
func TestPledgesShowAdmissionDrift(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	srv := existingtest.Mastodon(t, existingtest.Approval).URL
	f.toExistingAt(t, srv)
	g := f.withJoins(t)
	if err := campaign.Decide(ctx, f.st, g, "zoe@example.net", true, fixedNow); err != nil {
		t.Fatal(err)
	}
	win := admission.Window{From: fixedNow, Until: fixedNow.Add(7 * 24 * time.Hour)}
	a, err := f.d.Desk.Request(ctx, lead.Ask{Group: g, Server: srv, Window: win, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	_, adminKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admission.ImportAnswer(ctx, f.st, g.Name, admission.NewAnswer(adminKey, a.Request.ID(), srv, g.Name, true, "", fixedNow)); err != nil {
		t.Fatal(err)
	}
	// Accepted with Zoe: nothing to say.
	m := play(t, sizes[1], New(ctx, f.d, f.file), waitFor("Jamal"), press("2"), waitFor("would go now"))
	if v := m.View(); strings.Contains(v, "dmission") {
		t.Fatalf("a warning while the request admits the roster:\n%s", v)
	}
	// Yann is let in after the acceptance.
	if err := campaign.Decide(ctx, f.st, g, "yann@example.net", true, fixedNow.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	m = play(t, sizes[1], New(ctx, f.d, f.file), waitFor("Jamal"), press("2"),
		waitFor("1 person joined since the admin accepted the request"))
	if v := strings.Join(strings.Fields(m.View()), " "); !strings.Contains(v, "lifeboat request "+f.file+" --amend") {
		t.Fatalf("the warning does not name the amendment:\n%s", v)
	}
}
