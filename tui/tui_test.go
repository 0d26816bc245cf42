package tui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"github.com/lifeboat-social/lifeboat/escape"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/lead"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/provision/hetzner"
)

func TestMain(m *testing.M) {
	// golden screens are compared without colour
	lipgloss.SetColorProfile(termenv.Ascii)
	os.Exit(m.Run())
}

var sizes = [][2]int{{80, 24}, {120, 40}}

// fixedNow is the clock of every test: the example's deadline is
// 2027-03-31.
var fixedNow = time.Date(2027, 1, 1, 12, 0, 0, 0, time.UTC)

// fixture is a working directory holding the example group and a store.
type fixture struct {
	dir  string
	file string // absolute path of river-birders.yaml
	st   store.Store
	d    Deps
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "examples", "river-birders.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "river-birders.yaml")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), store.Config{Dir: filepath.Join(dir, "state")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	t.Setenv("HOME", dir) // paths on screen show as ~/…, the same every run
	f := &fixture{dir: dir, file: file, st: st}
	tempDirs = append(tempDirs, dir)
	f.d = Deps{Desk: &lead.Desk{Store: st, StateDir: filepath.Join(dir, "state")}, StateDir: filepath.Join(dir, "state"), Now: func() time.Time { return fixedNow },
		Prices: fakePrices, ServerTypes: hetzner.PriceTypes, Locations: hetzner.Locations}
	return f
}

// toExisting points the fixture's group at an existing server: a real
// group's launch (the local destination's is lifeboat demo's).
func (f *fixture) toExisting(t *testing.T) { f.toExistingAt(t, "https://social.example") }

// toExistingAt points the fixture's group at the existing server at url.
func (f *fixture) toExistingAt(t *testing.T, url string) {
	t.Helper()
	data, err := os.ReadFile(f.file)
	if err != nil {
		t.Fatal(err)
	}
	local := "  type: local           # a real GoToSocial server on loopback\n  software: gotosocial\n"
	if !bytes.Contains(data, []byte(local)) {
		t.Fatal("the example's destination changed")
	}
	data = bytes.Replace(data, []byte(local), []byte("  type: existing\n  server: "+url+"\n"), 1)
	if err := os.WriteFile(f.file, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func repoRoot(t *testing.T) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(wd)
}

// tempDirs are the fixtures' directories, replaced by $DIR in golden
// screens so they do not change from run to run.
var tempDirs []string

func fakePrices(ctx context.Context, g *groups.Group) (provision.Prices, error) {
	n := float64(len(g.Members))
	p := provision.Prices{Currency: "EUR", Location: "fsn1"}
	for _, t := range []provision.PricedType{{Name: "cx22", Cores: 2, MemoryGB: 4, Monthly: 5.35}, {Name: "cx32", Cores: 4, MemoryGB: 8, Monthly: 9.2},
		{Name: "cx42", Cores: 8, MemoryGB: 16, Monthly: 22.1}, {Name: "cax11", Err: "server type not usable: sold out in fsn1"}} {
		if t.Err == "" {
			t.PerMember = float64(int(t.Monthly/n*100+0.5)) / 100
		}
		p.Types = append(p.Types, t)
	}
	return p, nil
}

// step sends a message (or types keys) and waits until the output shows
// text.
type step struct {
	msg  tea.Msg
	keys string
	wait string
	do   func() // something happening outside the program meanwhile
}

func press(s string) step { return step{keys: s} }

func waitFor(s string) step { return step{wait: s} }

func meanwhile(f func()) step { return step{do: f} }

// play runs m in teatest at size, plays the steps, quits, and returns the
// final model.
func play(t *testing.T, size [2]int, m tea.Model, steps ...step) tea.Model {
	t.Helper()
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(size[0], size[1]))
	for _, s := range steps {
		if s.do != nil {
			s.do()
		}
		if s.msg != nil {
			tm.Send(s.msg)
		}
		for _, k := range splitKeys(s.keys) {
			tm.Send(k)
			// a form moves between fields through commands: let it
			if k.Type == tea.KeyEnter {
				time.Sleep(150 * time.Millisecond)
			} else {
				time.Sleep(5 * time.Millisecond)
			}
		}
		if s.wait != "" {
			want := []byte(s.wait)
			teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, want) },
				teatest.WithDuration(15*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
		}
	}
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	return tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second))
}

// splitKeys turns "e", "<enter>", "<tab>" or plain text into key messages.
func splitKeys(s string) []tea.KeyMsg {
	var out []tea.KeyMsg
	for s != "" {
		if strings.HasPrefix(s, "<") {
			end := strings.Index(s, ">")
			name := s[1:end]
			s = s[end+1:]
			switch name {
			case "enter":
				out = append(out, tea.KeyMsg{Type: tea.KeyEnter})
			case "esc":
				out = append(out, tea.KeyMsg{Type: tea.KeyEsc})
			case "tab":
				out = append(out, tea.KeyMsg{Type: tea.KeyTab})
			case "down":
				out = append(out, tea.KeyMsg{Type: tea.KeyDown})
			case "up":
				out = append(out, tea.KeyMsg{Type: tea.KeyUp})
			case "right":
				out = append(out, tea.KeyMsg{Type: tea.KeyRight})
			case "left":
				out = append(out, tea.KeyMsg{Type: tea.KeyLeft})
			case "ctrl+u":
				out = append(out, tea.KeyMsg{Type: tea.KeyCtrlU})
			default:
				panic("unknown key " + name)
			}
			continue
		}
		r := []rune(s)[0]
		s = s[len(string(r)):]
		out = append(out, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
	return out
}

var answerFile = regexp.MustCompile(`answers/answer-[0-9a-f]+`)

// screenGolden compares the final screen with testdata/TEST/WxH.golden.
func screenGolden(t *testing.T, m tea.Model) {
	t.Helper()
	v := m.View()
	for _, d := range tempDirs {
		v = strings.ReplaceAll(v, d, "$DIR")
	}
	for _, r := range replacements {
		v = strings.ReplaceAll(v, r[0], r[1])
	}
	// An admin's answer file is named by the request's identity, which
	// comes from a key made anew each run.
	v = answerFile.ReplaceAllString(v, "answers/answer-ID")
	golden.RequireEqual(t, []byte(v+"\n"))
}

func eachSize(t *testing.T, fn func(t *testing.T, size [2]int)) {
	for _, sz := range sizes {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) { fn(t, sz) })
	}
}

func TestHomeScreen(t *testing.T) {
	eachSize(t, func(t *testing.T, size [2]int) {
		f := newFixture(t)
		ctx := context.Background()
		if err := f.st.Groups().Put(ctx, store.Group{Name: "river-birders", Title: "River Birders", State: "gathering", File: f.file}); err != nil {
			t.Fatal(err)
		}
		if err := f.st.Groups().Put(ctx, store.Group{Name: "demo-100", Title: "Demo group of 100", State: "launched"}); err != nil {
			t.Fatal(err)
		}
		rememberRecent(f.d.StateDir, filepath.Join(f.dir, "other.yaml"))
		m := play(t, size, New(ctx, f.d, ""), waitFor("other.yaml"))
		screenGolden(t, m)
	})
}

func TestHomeCheck(t *testing.T) {
	eachSize(t, func(t *testing.T, size [2]int) {
		f := newFixture(t)
		bad := filepath.Join(f.dir, "bad.yaml")
		os.WriteFile(bad, []byte("version: 1\nname: X\ntitle: Bad\nviable_mass: 1\nmembers: []\nextra: 1\n"), 0o644)
		rememberRecent(f.d.StateDir, f.file)
		rememberRecent(f.d.StateDir, bad)
		m := play(t, size, New(context.Background(), f.d, ""), waitFor("bad.yaml"), press("c"), waitFor("problems"))
		screenGolden(t, m)
	})
}

func TestHomeNewGroupForm(t *testing.T) {
	eachSize(t, func(t *testing.T, size [2]int) {
		f := newFixture(t)
		m := play(t, size, New(context.Background(), f.d, ""), waitFor("No groups yet"), press("n"), waitFor("New group"))
		screenGolden(t, m)
	})
}

func TestHomeCreateGroup(t *testing.T) {
	f := newFixture(t)
	m := play(t, sizes[0], New(context.Background(), f.d, ""), waitFor("No groups yet"), press("n"), waitFor("New group"),
		press("<ctrl+u>"+filepath.Join(f.dir, "tide.yaml")+"<enter>tide-pool<enter>Tide Pool<enter>Ada<enter>ada@example.org<enter><ctrl+u>2<enter>"),
		waitFor("viable_mass is 2 but there are only 1"),
		press("a"), waitFor("Add a member"), press("Ben<enter>ben@example.org<enter><enter><enter>"), waitFor("added ben"))
	g, probs := groups.Load(filepath.Join(f.dir, "tide.yaml"))
	if len(probs) > 0 {
		t.Fatalf("the new file has problems: %v", probs)
	}
	if g.Title != "Tide Pool" || len(g.Members) != 2 {
		t.Errorf("got %+v", g)
	}
	if m.(Model).active != groupScreen {
		t.Errorf("after creating, the group screen should show")
	}
}

func TestGroupScreen(t *testing.T) {
	eachSize(t, func(t *testing.T, size [2]int) {
		f := newFixture(t)
		m := play(t, size, New(context.Background(), f.d, f.file), waitFor("Jamal"), press("<down><down>"), waitFor("> Chloe"))
		screenGolden(t, m)
	})
}

func TestGroupScreenProblems(t *testing.T) {
	eachSize(t, func(t *testing.T, size [2]int) {
		f := newFixture(t)
		os.WriteFile(filepath.Join(f.dir, "broken.yaml"), []byte("version: 1\nname: Broken Group\ntitle: Broken\nviable_mass: 1\nlead: {name: A, email: a@example.org}\ndestination: {type: local}\nmembers:\n  - name: A\n    emial: a@example.org\n"), 0o644)
		m := play(t, size, New(context.Background(), f.d, filepath.Join(f.dir, "broken.yaml")), waitFor("problems"))
		screenGolden(t, m)
	})
}

func TestGroupEditForm(t *testing.T) {
	eachSize(t, func(t *testing.T, size [2]int) {
		f := newFixture(t)
		m := play(t, size, New(context.Background(), f.d, f.file), waitFor("Jamal"), press("e"), waitFor("Edit river-birders"))
		screenGolden(t, m)
	})
}

// TestGroupEditsKeepComments edits through the forms and checks the file:
// comments and order stay, the edits are there, the file is valid.
func TestGroupEditsKeepComments(t *testing.T) {
	f := newFixture(t)
	m := play(t, sizes[0], New(context.Background(), f.d, f.file), waitFor("Jamal"),
		press("a"), waitFor("Add a member"),
		press("Kim Avocet<enter>kim@example.org<enter>@kimavocet<enter>kim<enter>"), waitFor("added kim@example.org"),
		press("e"), waitFor("Edit river-birders"),
		press("<ctrl+u>River Birders United<enter><enter><ctrl+u>9<enter><enter><enter><enter>"), waitFor("saved"),
		press("d"), waitFor("Remove ada@example.org"), press("y"), waitFor("removed ada@example.org"))
	data, err := os.ReadFile(f.file)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	for _, want := range []string{
		"# River Birders: the demo group.",
		"# launch once 8 members have pledged",
		"# a real GoToSocial server on loopback",
		"title: River Birders United",
		"viable_mass: 9",
		"email: kim@example.org",
		"@kimavocet",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("the saved file lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "email: ada@example.org\n    handle") {
		t.Errorf("ada is still a member:\n%s", s)
	}
	if strings.Index(s, "title:") > strings.Index(s, "members:") {
		t.Errorf("order changed:\n%s", s)
	}
	g, probs := groups.Load(f.file)
	if len(probs) > 0 {
		t.Fatalf("saved file has problems: %v\n%s", probs, s)
	}
	if len(g.Members) != 12 || g.ViableMass != 9 {
		t.Errorf("members %d, viable mass %d", len(g.Members), g.ViableMass)
	}
	if got := m.(Model).title; got != "River Birders United" {
		t.Errorf("header title %q", got)
	}
}

func seedPledges(t *testing.T, st store.Store, file string) {
	t.Helper()
	ctx := context.Background()
	g, _ := groups.Load(file)
	if err := escape.SaveGroup(ctx, st, g); err != nil {
		t.Fatal(err)
	}
	for i, m := range g.Members[:7] {
		p := store.Pledge{Group: g.Name, Email: m.Email, Confirmed: i != 6, CreatedAt: fixedNow, UpdatedAt: fixedNow}
		if i == 5 {
			p.Threshold = 9 // waits for nine others
		}
		if err := st.Pledges().Put(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPledgesScreen(t *testing.T) {
	eachSize(t, func(t *testing.T, size [2]int) {
		f := newFixture(t)
		seedPledges(t, f.st, f.file)
		f.toExisting(t)
		m := play(t, size, New(context.Background(), f.d, f.file), waitFor("Jamal"), press("2"), waitFor("would go now"),
			press("L"), waitFor("y/n"))
		screenGolden(t, m)
	})
}

func TestDestinationScreen(t *testing.T) {
	eachSize(t, func(t *testing.T, size [2]int) {
		f := newFixture(t)
		m := play(t, size, New(context.Background(), f.d, f.file), waitFor("Jamal"), press("3"), waitFor("Local"),
			press("<down><down>"), waitFor("per member"))
		screenGolden(t, m)
	})
}

func TestDestinationNoToken(t *testing.T) {
	eachSize(t, func(t *testing.T, size [2]int) {
		f := newFixture(t)
		t.Setenv("HCLOUD_TOKEN", "")
		t.Setenv("HCLOUD_TOKEN_FILE", "")
		// the real prices: no token, so they say what is missing
		f.d.Prices = func(ctx context.Context, g *groups.Group) (provision.Prices, error) {
			return hetzner.Prices(ctx, hetzner.Config{Group: g}, hetzner.PriceTypes)
		}
		m := play(t, size, New(context.Background(), f.d, f.file), waitFor("Jamal"), press("3"),
			press("<down><down>"), waitFor("HCLOUD_TOKEN"))
		screenGolden(t, m)
	})
}

func TestDestinationExisting(t *testing.T) {
	eachSize(t, func(t *testing.T, size [2]int) {
		f := newFixture(t)
		m := play(t, size, New(context.Background(), f.d, f.file), waitFor("Jamal"), press("3"), waitFor("Local"),
			press("<down>"), waitFor("s scouts servers"))
		screenGolden(t, m)
	})
}

// TestDestinationChooseNew saves a new-server destination through the form.
func TestDestinationChooseNew(t *testing.T) {
	f := newFixture(t)
	play(t, sizes[1], New(context.Background(), f.d, f.file), waitFor("Jamal"), press("3"), waitFor("Local"),
		press("<down><down>"), waitFor("per member"), press("<enter>"), waitFor("A new server"),
		press("social.river.example<enter><down><enter><enter><enter>"), waitFor("destination: new"))
	g, probs := groups.Load(f.file)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	want := groups.Destination{Type: "new", Software: "gotosocial", Domain: "social.river.example", Cloud: "hetzner", Location: "fsn1", ServerType: "cx32"}
	if g.Destination != want {
		t.Errorf("destination %+v, want %+v", g.Destination, want)
	}
	data, _ := os.ReadFile(f.file)
	if !strings.Contains(string(data), "# launch once 8 members have pledged") {
		t.Errorf("comments lost:\n%s", data)
	}
}

func provEvents() []tea.Msg {
	ev := func(e progress.Event) tea.Msg { return EventMsg(e) }
	msgs := []tea.Msg{
		jobStartedMsg{jobProvision},
		ev(progress.Event{Kind: progress.StepStarted, Step: "preflight", Message: "pre-flight checks"}),
		ev(progress.Event{Kind: progress.StepDone, Step: "preflight"}),
		ev(progress.Event{Kind: progress.StepStarted, Step: "apply", Message: "terraform apply"}),
	}
	for i, r := range []string{"hcloud_ssh_key.lead", "hcloud_firewall.web", "hcloud_server.main", "hcloud_volume.media"} {
		msgs = append(msgs, ev(progress.Event{Kind: progress.Log, Step: "apply", Item: r, Message: fmt.Sprintf("Creation complete after %ds", i+1)}))
	}
	msgs = append(msgs,
		ev(progress.Event{Kind: progress.StepDone, Step: "apply"}),
		ev(progress.Event{Kind: progress.Log, Step: provision.StepDNSRecord, Message: "social.river.example.             300   IN A     203.0.113.7"}),
		ev(progress.Event{Kind: progress.Log, Step: provision.StepDNSRecord, Message: "social.river.example.             300   IN AAAA  2001:db8::1"}),
		ev(progress.Event{Kind: progress.StepStarted, Step: "dns", Total: 2, Message: "waiting for the DNS records"}),
		ev(progress.Event{Kind: progress.Advanced, Step: "dns", Item: "A social.river.example", Done: 1, Total: 2}),
	)
	return msgs
}

func TestProvisioningScreen(t *testing.T) {
	eachSize(t, func(t *testing.T, size [2]int) {
		f := newFixture(t)
		steps := []step{waitFor("Jamal"), press("4"), waitFor("Provisioning")}
		for _, msg := range provEvents() {
			steps = append(steps, step{msg: msg})
		}
		steps = append(steps, waitFor("resolves: A social"), press("x"), waitFor("Cancel provisioning?"))
		m := play(t, size, New(context.Background(), f.d, f.file), steps...)
		screenGolden(t, m)
	})
}

func TestProvisioningError(t *testing.T) {
	eachSize(t, func(t *testing.T, size [2]int) {
		f := newFixture(t)
		steps := []step{waitFor("Jamal"), press("4"), waitFor("Provisioning")}
		for _, msg := range provEvents() {
			steps = append(steps, step{msg: msg})
		}
		steps = append(steps, step{msg: DoneMsg{Err: fmt.Errorf("wait for DNS AAAA social.river.example: %w: %w", hetzner.ErrDNS, context.DeadlineExceeded)}}, waitFor("What to do"))
		m := play(t, size, New(context.Background(), f.d, f.file), steps...)
		screenGolden(t, m)
	})
}

func arrivalEvents(g *groups.Group, arrived, follows int) []tea.Msg {
	ev := func(e progress.Event) tea.Msg { return EventMsg(e) }
	n := len(g.Members)
	msgs := []tea.Msg{
		ev(progress.Event{Kind: progress.StepStarted, Step: "arrivals", Message: "Members redeem their invites and sign in"}),
		ev(progress.Event{Kind: progress.StepStarted, Step: "arrivals", Total: n}),
	}
	for i := 0; i < arrived; i++ {
		msgs = append(msgs, ev(progress.Event{Kind: progress.Advanced, Step: "arrivals", Item: g.Members[i].Email, Done: i + 1, Total: n}))
	}
	if follows > 0 {
		msgs = append(msgs,
			ev(progress.Event{Kind: progress.StepStarted, Step: "mesh", Message: "Seed follows, lists and the welcome"}),
			ev(progress.Event{Kind: progress.StepStarted, Step: "follows", Total: n * (n - 1)}),
			ev(progress.Event{Kind: progress.Advanced, Step: "follows", Done: follows, Total: n * (n - 1)}))
	}
	return msgs
}

// TestArrivalsScreen is the view lifeboat demo shows, mid-way.
func TestArrivalsScreen(t *testing.T) {
	eachSize(t, func(t *testing.T, size [2]int) {
		f := newFixture(t)
		g, _ := groups.Load(f.file)
		m := NewArrivals(context.Background(), f.d, g)
		steps := []step{}
		for _, msg := range arrivalEvents(g, 12, 40) {
			steps = append(steps, step{msg: msg})
		}
		steps = append(steps,
			step{msg: EventMsg{Kind: progress.Failed, Step: "lists", Message: "list for lena@example.org: 503"}},
			waitFor("40/132"))
		fm := play(t, size, arrivalsModel{m}, steps...)
		screenGolden(t, fm)
	})
}

// TestArrivalsInTUI launches from the pledges screen with a fake launch
// job: the job's events reach the arrivals screen through the channel.
func TestArrivalsInTUI(t *testing.T) {
	eachSize(t, func(t *testing.T, size [2]int) {
		f := newFixture(t)
		f.toExisting(t)
		g, _ := groups.Load(f.file)
		f.d.Launch = func(ctx context.Context, lg *groups.Group, emit progress.Func) (escape.Report, error) {
			for _, msg := range arrivalEvents(g, 7, 0) {
				emit(progress.Event(msg.(EventMsg)))
			}
			emit(progress.Event{Kind: progress.Failed, Step: "arrivals", Message: "create account for hugo@example.org: 422 username taken"})
			return escape.Report{}, errors.New("arrivals: create account for hugo@example.org: 422 username taken")
		}
		fm := play(t, size, New(context.Background(), f.d, f.file), waitFor("Jamal"), press("2"), waitFor("would go now"),
			press("L"), waitFor("y/n"), press("y"), waitFor("stopped:"))
		screenGolden(t, fm)
	})
}

func TestAdminScreen(t *testing.T) {
	eachSize(t, func(t *testing.T, size [2]int) {
		f := newFixture(t)
		m := play(t, size, New(context.Background(), f.d, f.file), waitFor("Jamal"), press("6"), waitFor("admission"))
		screenGolden(t, m)
	})
}

func TestHelpAndNavigation(t *testing.T) {
	f := newFixture(t)
	m := play(t, sizes[0], New(context.Background(), f.d, f.file), waitFor("Jamal"),
		press("<tab><tab>"), waitFor("[3 Destination]"), press("?"), waitFor("shift+tab"), press("<esc>"), waitFor("[Home]"))
	if got := m.(Model).active; got != homeScreen {
		t.Errorf("active %v", got)
	}
	screenGolden(t, m)
}
