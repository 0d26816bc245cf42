package campaign

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rivo/uniseg"
	"golang.org/x/text/unicode/norm"

	"github.com/lifeboat-social/lifeboat/escape/pledge"
	"github.com/lifeboat-social/lifeboat/groups"
)

// Limits of the networks a short announcement is posted on, as they count
// today: X weighs each character (most scripts 1, CJK and emoji 2) up to
// 280 and counts every link as 23 whatever its length; Bluesky allows 300
// graphemes and counts a link in full.
const (
	XMaxWeight     = 280
	XLinkWeight    = 23
	BlueskyMaxText = 300
)

// ErrLinkTooLong: the join link alone leaves no room for a short post.
var ErrLinkTooLong = errors.New("the join link is too long for a short post")

// Announcement is what a lead posts to gather the group: the join link,
// the group's standing as the cascade has it, and the texts.
type Announcement struct {
	Group    string `json:"group"`
	Title    string `json:"title"`
	State    string `json:"state"`
	Link     string `json:"link"`
	Going    int    `json:"going"`
	Viable   int    `json:"viable_mass"`
	Need     int    `json:"need_for_viable"`
	Standing string `json:"standing"`
	// Short fits one post on X and on Bluesky; XWeight and Graphemes are
	// its length as each counts it.
	Short     string `json:"short"`
	XWeight   int    `json:"short_x_weight"`
	Graphemes int    `json:"short_graphemes"`
	// Long is for a blog post or a newsletter.
	Long string `json:"long"`
}

// Announce words the group's standing s for posting, with link where
// people join. The short text keeps its standing and link whole and
// shortens the title (and drops hashtags) until it fits both networks.
func Announce(g *groups.Group, s Status, link string) (Announcement, error) {
	o := s.Outlook
	a := Announcement{Group: g.Name, Title: g.Title, State: s.State, Link: link,
		Going: o.Going, Viable: g.ViableMass, Need: o.NeedForViable, Standing: Standing(s)}
	short, err := shortText(g, s, link)
	if err != nil {
		return a, err
	}
	a.Short, a.XWeight, a.Graphemes = short, XWeight(short, link), uniseg.GraphemeClusterCount(short)
	a.Long = longText(g, s, link)
	return a, nil
}

// Standing is the group's standing in one sentence: "41 would go now; 9
// more pledges would bring 14 more", or where it ended.
func Standing(s Status) string {
	switch s.State {
	case pledge.StateLaunched, pledge.StateArrived:
		return fmt.Sprintf("%d %s moving", s.Outlook.Going, plural(s.Outlook.Going, "is", "are"))
	case pledge.StateFailed:
		return "not enough pledged in time; nothing launched"
	}
	return s.Outlook.String()
}

// call is the invitation after the standing, by state.
func call(g *groups.Group, s Status) string {
	switch s.State {
	case pledge.StateLaunched, pledge.StateArrived:
		return "Follow the group there"
	case pledge.StateFailed:
		return "Thank you to everyone who pledged"
	}
	if n := s.Outlook.NeedForViable; n > 0 {
		return fmt.Sprintf("%d more %s and we all move together. Join", n, plural(n, "pledge", "pledges"))
	}
	if s.Outlook.Viable {
		return "We are enough to move together. Join us"
	}
	return fmt.Sprintf("We move together once %d pledge. Join", g.ViableMass)
}

func shortText(g *groups.Group, s Status, link string) (string, error) {
	tags := hashtags(g.Tags)
	build := func(title string, withTags bool) string {
		t := fmt.Sprintf("%s: leaving together, or not at all. %s. %s: %s", title, capitalise(Standing(s)), call(g, s), link)
		if withTags && tags != "" {
			t += " " + tags
		}
		return t
	}
	fits := func(t string) bool {
		return XWeight(t, link) <= XMaxWeight && uniseg.GraphemeClusterCount(t) <= BlueskyMaxText
	}
	title := norm.NFC.String(strings.Join(strings.Fields(g.Title), " "))
	for _, withTags := range []bool{true, false} {
		if t := build(title, withTags); fits(t) {
			return t, nil
		}
	}
	// Cut the title to the longest start that fits: the standing and the
	// link are what the post is for. More of a title almost always weighs
	// more, so a binary search finds the cut; a word that turns into a
	// link as it grows ("aaaa…://") can weigh less, so walk down from
	// there until it fits.
	gs := graphemes(title)
	cut := func(n int) string {
		return build(strings.TrimRightFunc(strings.Join(gs[:n], ""), unicode.IsSpace)+"…", false)
	}
	for n := sort.Search(len(gs), func(n int) bool { return n > 0 && !fits(cut(n)) }) - 1; n >= 1; n-- {
		if t := cut(n); fits(t) {
			return t, nil
		}
	}
	return "", ErrLinkTooLong
}

func longText(g *groups.Group, s Status, link string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s is leaving together\n\n", g.Title)
	if d := strings.TrimSpace(g.Description); d != "" {
		b.WriteString(d + "\n\n")
	}
	b.WriteString("Nobody wants to be the first to leave, and nobody should have to arrive alone. " +
		"So we move as a group: everyone pledges to go, if they like only once at least so many others go, " +
		"and when enough of us have pledged we all move at the same moment. " +
		"Each of us gets a personal invite, an account, and finds the whole group already followed.\n\n")
	fmt.Fprintf(&b, "Where we are going: %s.\n", where(g.Destination))
	fmt.Fprintf(&b, "Where we stand: %s. We move once %d would go.\n", Standing(s), g.ViableMass)
	if g.Deadline != nil && s.State == pledge.StateGathering {
		fmt.Fprintf(&b, "Pledges close at the end of %s (UTC); if we are not enough by then, nothing happens and nobody is signed up anywhere.\n",
			g.Deadline.UTC().Format("2 January 2006"))
	}
	fmt.Fprintf(&b, "\n%s: %s\n", call(g, s), link)
	if tags := hashtags(g.Tags); tags != "" {
		b.WriteString("\n" + tags + "\n")
	}
	return b.String()
}

// where is the destination in a few words for people who do not know
// Lifeboat.
func where(d groups.Destination) string {
	switch d.Type {
	case groups.DestExisting:
		return "the fediverse server " + hostOf(d.Server)
	case groups.DestNew:
		return "a fediverse server of our own, " + d.Domain
	}
	return "a fediverse server, to be announced"
}

func hostOf(u string) string {
	_, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	host, _, _ := strings.Cut(rest, "/")
	return host
}

// hashtags writes tags as hashtags: "river-walks" becomes #RiverWalks,
// as a '-' would end the hashtag on X and Mastodon.
func hashtags(tags []string) string {
	var out []string
	for _, t := range tags {
		var b strings.Builder
		for part := range strings.SplitSeq(t, "-") {
			b.WriteString(capitalise(part))
		}
		out = append(out, "#"+b.String())
	}
	return strings.Join(out, " ")
}

func capitalise(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func graphemes(s string) []string {
	var out []string
	gr := uniseg.NewGraphemes(s)
	for gr.Next() {
		out = append(out, gr.Str())
	}
	return out
}

// XWeight is the length of text as X counts it against XMaxWeight
// (twitter-text v3): text in NFC; code points up to U+10FF and a few
// punctuation ranges weigh 1, every other 2; link, and any word that X
// would take for a link, weighs XLinkWeight. A word with a dot is counted
// as a link when that is heavier, so the weight is never below X's own.
func XWeight(text, link string) int {
	text = norm.NFC.String(text)
	w := 0
	for word := range strings.FieldsFuncSeq(text, unicode.IsSpace) {
		ww := 0
		for _, r := range word {
			ww += runeWeight(r)
		}
		if word == link || strings.Contains(word, "://") || strings.Contains(strings.Trim(word, ".,:;!?)("), ".") {
			ww = max(ww, XLinkWeight)
			if word == link || strings.Contains(word, "://") {
				ww = XLinkWeight
			}
		}
		w += ww
	}
	for _, r := range text {
		if unicode.IsSpace(r) {
			w += runeWeight(r)
		}
	}
	return w
}

func runeWeight(r rune) int {
	switch {
	case r <= 4351, r >= 8192 && r <= 8205, r >= 8208 && r <= 8223, r >= 8242 && r <= 8247:
		return 1
	}
	return 2
}
