package tui

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/lifeboat-social/lifeboat/escape"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// The arrivals screen counts the members who kept their own accounts on
// other servers, as the store holds them (through the lead's desk): they
// need no account made on the destination, count among the arrived, the
// mesh and the lists, and each shows with their own address, sanitised.
func TestArrivalsShowRemoteMembers(t *testing.T) {
	f := newFixture(t)
	f.toExisting(t) // the destination is https://social.example
	g, probs := groups.Load(f.file)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	ctx := context.Background()
	if err := escape.SaveGroup(ctx, f.st, g); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, email := range []string{"ada@example.org", "ben@example.org", "chloe@example.org"} {
		if err := f.st.Invites().Put(ctx, store.Invite{Group: g.Name, Email: email, TokenHash: email, SentAt: now, RedeemedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []store.Account{
		{Email: "ada@example.org", Server: "https://social.example", ID: "1", Token: "t", Username: "ada"},
		{Email: "ben@example.org", Server: "https://home.example", ID: "2", Token: "t", Acct: "ben@home.example"},
		{Email: "chloe@example.org", Server: "https://wren.example", ID: "3", Token: "t", Acct: "chloe\x1b[31m@wren.example"},
	} {
		a.Group = g.Name
		if err := f.st.Accounts().Put(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	f.d.ctx = ctx
	s := newArrivals(f.d)
	s.Update(groupLoadedMsg{group: g})
	s.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	msg := loadArrivals(f.d, g)()
	if m := msg.(arrivalsLoadedMsg); m.err != nil {
		t.Fatal(m.err)
	}
	s.Update(msg)
	v := s.View()
	flat := strings.Join(strings.Fields(v), " ")
	for _, want := range []string{
		"accounts created", "1/1 +2 remote", // only Ada's was made on the destination
		"0/6 N(N-1)", // three arrived: six follows
		"0/3",        // three lists
		"2 of the 3 arrived keep their own accounts on other servers.",
		"arrived from ben@home.example",
		`arrived from chloe\x1b[31m@wren.example`, // shown, not obeyed
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("the arrivals screen lacks %q:\n%s", want, v)
		}
	}
	if strings.Contains(v, "\x1b[31m") {
		t.Errorf("a member's address reached the terminal unsanitised:\n%q", v)
	}
}
