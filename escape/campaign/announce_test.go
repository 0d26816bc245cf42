package campaign

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/rivo/uniseg"

	"github.com/lifeboat-social/lifeboat/escape/pledge"
	"github.com/lifeboat-social/lifeboat/groups"
)

// TestAnnounceStanding: the standing in the texts is the cascade's, read
// from the store: 1 would go (ben waits for 3 others), and the numbers
// that would move it.
func TestAnnounceStanding(t *testing.T) {
	st, g, _ := setup(t)
	g.Tags = []string{"birds", "river-walks"}
	pledgeAs(t, st, "ada@example.org", 0, true, false)
	pledgeAs(t, st, "ben@example.org", 2, true, false)
	s, err := Read(context.Background(), st, g)
	if err != nil {
		t.Fatal(err)
	}
	link := "https://lifeboat.example.org/g/river-birders/join"
	a, err := Announce(g, s, link)
	if err != nil {
		t.Fatal(err)
	}
	// ada goes; one more unconditional pledge makes 2 others for ben: 3, viable.
	want := "1 would go now; 1 more pledge would bring 1 more"
	if a.Standing != want || a.Going != 1 || a.Need != 1 {
		t.Fatalf("standing %q going %d need %d, want %q, 1, 1", a.Standing, a.Going, a.Need, want)
	}
	for name, text := range map[string]string{"short": a.Short, "long": a.Long} {
		if !strings.Contains(text, link) || !strings.Contains(strings.ToLower(text), strings.ToLower(want)) {
			t.Errorf("%s text lacks the link or the standing:\n%s", name, text)
		}
		if !strings.Contains(text, "#RiverWalks") || !strings.Contains(text, "River Birders") {
			t.Errorf("%s text lacks the hashtags or the title:\n%s", name, text)
		}
	}
	if !strings.Contains(a.Short, "1 more pledge and we all move together") {
		t.Errorf("short text lacks what is needed: %s", a.Short)
	}
	if a.XWeight > XMaxWeight || a.Graphemes > BlueskyMaxText || a.Graphemes != uniseg.GraphemeClusterCount(a.Short) {
		t.Errorf("short text: X weight %d, %d graphemes", a.XWeight, a.Graphemes)
	}
}

// TestAnnounceShortFits: whatever the title (long, CJK, emoji, combining
// marks), the short text fits X and Bluesky and keeps the link and the
// standing whole.
func TestAnnounceShortFits(t *testing.T) {
	pieces := []string{"River ", "Birders ", "鳥の会", "🐦", "👩‍👩‍👧", "e\u0301", "Ünïcødé ", "St.Mary ", "x.com ", "https://old.example/a "}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		var title strings.Builder
		for range rng.IntN(120) + 1 {
			title.WriteString(pieces[rng.IntN(len(pieces))])
		}
		g := &groups.Group{Name: "g", Title: title.String(), ViableMass: 100, Tags: []string{"birds", "a-long-topic-name", "nature"}}
		o := pledge.Explain([]int{0, 0, 3, 50}, 400, 100)
		s := Status{State: pledge.StateGathering, Outlook: o}
		link := "https://lifeboat.example.org/g/" + strings.Repeat("x", rng.IntN(60)) + "/join"
		a, err := Announce(g, s, link)
		if err != nil {
			t.Fatalf("title %q: %v", title.String(), err)
		}
		if a.XWeight > XMaxWeight || a.Graphemes > BlueskyMaxText {
			t.Fatalf("case %d: X weight %d, %d graphemes:\n%s", i, a.XWeight, a.Graphemes, a.Short)
		}
		if !strings.Contains(a.Short, " "+link) || !strings.Contains(a.Short, "2 would go now") {
			t.Fatalf("case %d: link or standing cut:\n%s", i, a.Short)
		}
	}
}

func TestAnnounceLinkTooLong(t *testing.T) {
	g := &groups.Group{Name: "g", Title: "T", ViableMass: 2}
	_, err := Announce(g, Status{State: pledge.StateGathering}, "https://example.org/"+strings.Repeat("a", 300))
	if !errors.Is(err, ErrLinkTooLong) {
		t.Fatalf("err = %v, want ErrLinkTooLong", err)
	}
}

func TestXWeight(t *testing.T) {
	link := "https://lifeboat.example.org/a-very-long-path/join"
	for _, c := range []struct {
		text string
		want int
	}{
		{"hello", 5},
		{"hello world", 11},
		{"鳥の会", 6},
		{"🐦", 2},
		{"e\u0301", 1}, // NFC makes it one code point
		{"see " + link, 4 + XLinkWeight},
		{"go x.co", 3 + XLinkWeight}, // X makes it a link; a short one still weighs 23
		{"now.", 4},
		{"“quoted”", 8},
	} {
		if got := XWeight(c.text, link); got != c.want {
			t.Errorf("XWeight(%q) = %d, want %d", c.text, got, c.want)
		}
	}
}

func TestStandingAfterTheMove(t *testing.T) {
	s := Status{State: pledge.StateLaunched, Outlook: pledge.Outlook{Going: 41}}
	if got := Standing(s); got != "41 are moving" {
		t.Errorf("launched: %q", got)
	}
	if got := Standing(Status{State: pledge.StateFailed}); !strings.Contains(got, "nothing launched") {
		t.Errorf("failed: %q", got)
	}
}
