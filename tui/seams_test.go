package tui

import (
	"context"
	"errors"
	"fmt"
	"go/build"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/lifeboat-social/lifeboat/escape"
	"github.com/lifeboat-social/lifeboat/escape/arrival"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/provision/hetzner"
)

// The TUI renders the domain's answers: it reaches no store, no
// Mastodon-API client, no cloud and no YAML itself.
func TestTUIImportsNoDomainInternals(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, banned := range []string{
		"github.com/lifeboat-social/lifeboat/internal/store",
		"github.com/lifeboat-social/lifeboat/internal/fedi",
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

// q asks before quitting a running job; when the job ends before the
// answer, y still quits, and nothing is cancelled twice or panics.
func TestQuitAnsweredAfterTheJobEnded(t *testing.T) {
	m := New(context.Background(), Deps{}, "")
	cancelled := 0
	m.job, m.jobCancel = jobLaunch, func() { cancelled++ }
	mm, _ := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("q")})
	if !mm.(Model).confirmQ {
		t.Fatal("q during a job did not ask")
	}
	mm, _ = mm.Update(DoneMsg{})
	if cancelled != 1 || mm.(Model).jobCancel != nil {
		t.Fatalf("the ended job: cancelled %d times, cancel %v", cancelled, mm.(Model).jobCancel != nil)
	}
	_, cmd := mm.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("y")})
	if cmd == nil {
		t.Fatal("y did not quit")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Error("y did not quit")
	}
}

// Commands run under the model's context: when it ends (the TUI quits),
// a command still waiting on a server ends too.
func TestCommandsTakeTheModelsContext(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	f.d.Prices = func(ctx context.Context, g *groups.Group) (provision.Prices, error) {
		<-ctx.Done()
		return provision.Prices{}, ctx.Err()
	}
	m := New(ctx, f.d, f.file)
	g, _ := groups.Load(f.file)
	done := make(chan tea.Msg, 1)
	go func() { done <- loadPrices(m.d.ctx, m.d, g)() }()
	cancel()
	select {
	case msg := <-done:
		if p := msg.(pricesMsg); !errors.Is(p.err, context.Canceled) {
			t.Errorf("prices ended with %v, want the model's cancellation", p.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the command outlived the model's context")
	}
}

// Paths are shown relative to the directory the TUI started in, read
// once: a frame does not ask the system again.
func TestPathsReadTheDirectoriesOnce(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	m := New(context.Background(), Deps{}, "")
	t.Chdir(t.TempDir())
	if got := m.d.shortPath(filepath.Join(dir, "g.yaml")); got != "g.yaml" {
		t.Errorf("shortPath = %q, want g.yaml (relative to the start directory)", got)
	}
}

// o on the pledges screen asks where the group's pages are and mails the
// pledge links through the command's hook.
func TestOpenPledgesKey(t *testing.T) {
	f := newFixture(t)
	got := make(chan [2]string, 1)
	f.d.OpenPledges = func(ctx context.Context, file, baseURL string) (int, error) {
		got <- [2]string{file, baseURL}
		return 12, nil
	}
	play(t, sizes[1], New(context.Background(), f.d, f.file), waitFor("Jamal"), press("2"), waitFor("would go now"),
		press("o"), waitFor("Public URL"), press("https://lifeboat.example.org/<enter>"), waitFor("sent 12 pledge links"))
	if g := <-got; g != [2]string{f.file, "https://lifeboat.example.org"} {
		t.Errorf("hook got %q", g)
	}
}

// A local group's launch is the demo's (every member's pledge and arrival
// made up): the TUI does not offer it, neither L on the pledges screen
// nor r on the arrivals screen, and names lifeboat demo instead.
func TestLocalLaunchIsTheDemos(t *testing.T) {
	f := newFixture(t)
	seedPledges(t, f.st, f.file)
	called := make(chan bool, 4)
	f.d.Launch = func(ctx context.Context, g *groups.Group, emit progress.Func) (escape.Report, error) {
		called <- true
		return escape.Report{}, nil
	}
	m := play(t, sizes[1], New(context.Background(), f.d, f.file), waitFor("Jamal"), press("2"), waitFor("would go now"),
		press("L"), waitFor("run lifeboat demo --group"), press("y"),
		press("5"), waitFor("Arrivals"), press("r"))
	if len(called) != 0 {
		t.Fatal("the launch ran for a local group")
	}
	if v := m.View(); strings.Contains(v, "y/n") || strings.Contains(v, "L launch") {
		t.Errorf("a launch is offered for a local group:\n%s", v)
	}
	// the root refuses too, whatever asks it
	mm, _ := m.(Model).Update(startJobMsg{kind: jobLaunch})
	if mm.(Model).jobCancel != nil || !strings.Contains(mm.(Model).status, "lifeboat demo") {
		t.Errorf("the root started a local launch: %q", mm.(Model).status)
	}
	ps, _ := f.st.Pledges().List(context.Background(), "river-birders")
	if len(ps) != 7 {
		t.Errorf("%d pledges, want the 7 seeded: none made up", len(ps))
	}
}

// A taken username is told by the error's type, not its words: the
// member's row says their next choice is used, and so does the screen
// when the job ended on it.
func TestArrivalsTellATakenUsername(t *testing.T) {
	g := &groups.Group{Name: "g", Title: "G", Members: []groups.Member{
		{Name: "Hugo", Email: "hugo@example.org"}, {Name: "Ines", Email: "ines@example.org"}}}
	s := newArrivals(Deps{})
	s.group, s.w, s.h = g, 160, 30
	taken := fmt.Errorf("create account for hugo@example.org: %w", provision.ErrUsernameTaken)
	s.event(progress.Event{Kind: progress.Failed, Step: "arrivals", Message: "create account for hugo@example.org: 422", Err: taken})
	// words alone decide nothing
	s.event(progress.Event{Kind: progress.Failed, Step: "arrivals", Message: "create account for ines@example.org: username taken?"})
	s.Update(DoneMsg{Err: fmt.Errorf("arrivals: %w", taken)})
	v := s.View()
	var hugo, ines string
	for _, l := range strings.Split(v, "\n") {
		switch {
		case strings.Contains(l, "hugo@example.org"):
			hugo = l
		case strings.Contains(l, "ines@example.org"):
			ines = l
		}
	}
	if !strings.Contains(hugo, "failed: username taken; the member chooses another") {
		t.Errorf("hugo's row: %q", hugo)
	}
	if !strings.Contains(ines, "failed: create account for ines@example.org: username taken?") {
		t.Errorf("ines's row: %q", ines)
	}
	if !strings.Contains(v, "A username was taken on the server") {
		t.Errorf("the screen does not say a username was taken:\n%s", v)
	}
}
