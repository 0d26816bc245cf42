package tui

import (
	"context"
	"errors"
	"fmt"
	"go/build"
	"slices"
	"strings"
	"testing"

	"github.com/lifeboat-social/lifeboat/arrival"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/progress"
	"github.com/lifeboat-social/lifeboat/provision/hetzner"
	"github.com/lifeboat-social/lifeboat/store"
)

// The TUI renders the domain's answers: it reaches no store, no
// Mastodon-API client, no cloud and no YAML itself.
func TestTUIImportsNoDomainInternals(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, banned := range []string{
		"github.com/lifeboat-social/lifeboat/store",
		"github.com/lifeboat-social/lifeboat/fedi",
		"github.com/lifeboat-social/lifeboat/provision/hetzner",
		"gopkg.in/yaml.v3",
	} {
		if slices.Contains(pkg.Imports, banned) {
			t.Errorf("tui imports %s", banned)
		}
	}
	if len(pkg.Imports) == 0 {
		t.Fatal("read no imports")
	}
}

// A pledge of someone no longer in the group file does not count: the
// pledges screen shows campaign.Read's standing.
func TestPledgesOfRemovedMembersDoNotCount(t *testing.T) {
	f := newFixture(t)
	seedPledges(t, f.st, f.file)
	gone := store.Pledge{Group: "river-birders", Email: "gone@example.org", Confirmed: true, CreatedAt: fixedNow, UpdatedAt: fixedNow}
	if err := f.st.Pledges().Put(context.Background(), gone); err != nil {
		t.Fatal(err)
	}
	play(t, sizes[1], New(context.Background(), f.d, f.file), waitFor("Jamal"), press("2"),
		waitFor("6 of 12 members (1 unconfirmed, 0 withdrawn)"))
}

// A failure is a member's when it names that exact address: a failure of
// joann@ is not ann@'s.
func TestArrivalFailureMatchesTheMemberExactly(t *testing.T) {
	g := &groups.Group{Name: "g", Title: "G", Members: []groups.Member{
		{Name: "Ann", Email: "ann@example.org"}, {Name: "Joann", Email: "joann@example.org"}}}
	s := newArrivals(Deps{})
	s.group = g
	s.event(progress.Event{Kind: progress.Failed, Step: arrival.StepFollows, Message: "joann@example.org follows ben@example.org: refused"})
	if st := s.memberState("ann@example.org"); st == mFailed {
		t.Error("ann@ is marked failed by joann@'s failure")
	}
	if st := s.memberState("joann@example.org"); st != mFailed {
		t.Errorf("joann@ is %s, want failed", st)
	}
}

// The provisioning screen advises by the error's type, not its words.
func TestProvisioningAdvisesByErrorType(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("pre-flight: %w", hetzner.ErrToken), "check HCLOUD_TOKEN"},
		{fmt.Errorf("wait for DNS A x: %w: timeout", hetzner.ErrDNS), "set the DNS records"},
		{fmt.Errorf("%w: cx11 is gone", hetzner.ErrServerType), "pick another server type"},
		{fmt.Errorf("start: %w", context.Canceled), "resume"},
		// words alone decide nothing
		{errors.New("the admin token could not be made over SSH"), "fix the cause"},
		{errors.New("the dns resolver of the server is down"), "fix the cause"},
	} {
		if got := whatToDo(c.err); !strings.Contains(got, c.want) {
			t.Errorf("%v: %q, want %q", c.err, got, c.want)
		}
	}
	p := newProvisioning(Deps{})
	p.group = &groups.Group{Name: "g"}
	p.Update(EventMsg(progress.Event{Kind: progress.Failed, Step: "preflight", Message: "refused", Err: hetzner.ErrToken}))
	if !strings.Contains(whatToDo(p.cause), "HCLOUD_TOKEN") {
		t.Errorf("a failed event's error was not kept: %v", p.cause)
	}
}
