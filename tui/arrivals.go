package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/lifeboat-social/lifeboat/escape"
	"github.com/lifeboat-social/lifeboat/escape/arrival"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/safetext"
	"github.com/lifeboat-social/lifeboat/lead"
	"github.com/lifeboat-social/lifeboat/provision"
)

// The arrivals screen: invites sent, redeemed, accounts created, follows
// seeded (n of N(N-1)), lists made, as progress bars, and a table of the
// members with their state. It is fed twice: the job's progress events
// move the bars at once, and the store, read again every second while a
// job runs, gives the exact counts and each member's state.

type (
	// arrivalsLoadedMsg is the store's view of the group's arrivals.
	arrivalsLoadedMsg struct {
		group string
		room  arrival.Room
		err   error
	}
	// arrivalsTickMsg asks for a refresh while a job runs.
	arrivalsTickMsg struct{}
)

// Member states on the arrivals screen: the arrival engine's, and two of
// the screen's own.
const (
	mWaiting = "waiting" // no invite yet
	mFailed  = "failed"  // a step failed for the member in this run
)

// stepCount is one step's progress from events.
type stepCount struct{ done, total int }

type arrivals struct {
	d       Deps
	group   *groups.Group
	w, h    int
	running bool
	ticking bool
	store   arrivalsLoadedMsg
	steps   map[string]stepCount // by event step: escape.StepArrivals, arrival.StepFollows, arrival.StepLists
	failed  map[string]string    // email -> message
	taken   map[string]bool      // email -> the server refused the username they chose
	arrived map[string]bool      // from events
	step    string               // the running step's title
	cur     int
	final   *DoneMsg
}

func newArrivals(d Deps) *arrivals {
	return &arrivals{d: d, steps: map[string]stepCount{}, failed: map[string]string{}, taken: map[string]bool{}, arrived: map[string]bool{}}
}

func (s *arrivals) Busy() bool { return false }

func (s *arrivals) Keys() []key.Binding {
	return []key.Binding{kUp, kDown, kRetry}
}

// loadArrivals reads the group's arrivals so far.
func loadArrivals(d Deps, g *groups.Group) tea.Cmd {
	return func() tea.Msg {
		room, err := fromDesk(d, func(ctx context.Context, desk *lead.Desk) (arrival.Room, error) { return desk.Arrivals(ctx, g) })
		return arrivalsLoadedMsg{group: g.Name, room: room, err: err}
	}
}

func (s *arrivals) tick() tea.Cmd {
	return tea.Tick(time.Second, func(time.Time) tea.Msg { return arrivalsTickMsg{} })
}

func (s *arrivals) Update(msg tea.Msg) (screen, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		s.w, s.h = msg.Width, msg.Height
	case groupLoadedMsg:
		if msg.group != nil {
			if s.group == nil || s.group.Name != msg.group.Name {
				s.store = arrivalsLoadedMsg{}
			}
			s.group = msg.group
		}
	case enteredMsg:
		if msg.id == arrivalsScreen && s.group != nil {
			return s, loadArrivals(s.d, s.group)
		}
	case jobStartedMsg:
		if msg.kind != jobLaunch {
			return s, nil
		}
		s.running, s.final = true, nil
		s.steps, s.failed, s.taken, s.arrived = map[string]stepCount{}, map[string]string{}, map[string]bool{}, map[string]bool{}
		if !s.ticking && s.group != nil {
			s.ticking = true
			return s, tea.Batch(loadArrivals(s.d, s.group), s.tick())
		}
	case arrivalsTickMsg:
		if s.running && s.group != nil {
			return s, tea.Batch(loadArrivals(s.d, s.group), s.tick())
		}
		s.ticking = false
	case arrivalsLoadedMsg:
		if s.group != nil && msg.group == s.group.Name {
			s.store = msg
		}
	case EventMsg:
		s.event(progress.Event(msg))
	case DoneMsg:
		s.running = false
		s.final = &msg
		if s.group != nil {
			return s, loadArrivals(s.d, s.group)
		}
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, kUp):
			s.cur = max(s.cur-1, 0)
		case key.Matches(msg, kDown):
			if s.group != nil {
				s.cur = min(s.cur+1, max(len(s.group.Members)-1, 0))
			}
		case key.Matches(msg, kRetry):
			return s, s.retry()
		}
	}
	return s, nil
}

// retry runs the escape again for a failed member: the journal makes it
// do only what is missing, this member's sign-up and follows included.
func (s *arrivals) retry() tea.Cmd {
	if s.group == nil || s.cur >= len(s.group.Members) {
		return nil
	}
	m := s.group.Members[s.cur]
	if st := s.memberState(strings.ToLower(m.Email)); st != mFailed && st != arrival.MemberJoining {
		return status("%s is %s: nothing to retry", m.Name, st)
	}
	if s.running {
		return status("the launch is still running")
	}
	if s.d.Launch == nil {
		return status("run the same command again to retry: nothing is done twice")
	}
	return func() tea.Msg { return startJobMsg{kind: jobLaunch} }
}

func (s *arrivals) event(e progress.Event) {
	switch e.Kind {
	case progress.StepStarted:
		if e.Message != "" {
			s.step = e.Message
		}
		if e.Total > 0 || e.Done > 0 {
			s.steps[e.Step] = stepCount{e.Done, e.Total}
		}
	case progress.Advanced:
		s.steps[e.Step] = stepCount{e.Done, e.Total}
		if e.Step == escape.StepArrivals && e.Item != "" {
			s.arrived[strings.ToLower(e.Item)] = true
		}
	case progress.StepDone:
		if e.Total > 0 {
			s.steps[e.Step] = stepCount{e.Total, e.Total}
		}
	case progress.Failed:
		if s.group != nil {
			for _, m := range s.group.Members {
				if e.Concerns(m.Email) {
					s.failed[strings.ToLower(m.Email)] = e.Message
					s.taken[strings.ToLower(m.Email)] = errors.Is(e.Err, provision.ErrUsernameTaken)
				}
			}
		}
	}
}

// usernameTaken says what happens after the server refused a member's
// username (provision.ErrUsernameTaken): their next choice is used.
const usernameTaken = "username taken; the member chooses another on their invite page and that one is used"

func (s *arrivals) memberState(email string) string {
	if _, ok := s.failed[email]; ok && !s.arrived[email] {
		return mFailed
	}
	if s.arrived[email] {
		return arrival.MemberArrived
	}
	if st, ok := s.store.room.State[email]; ok {
		return st
	}
	return mWaiting
}

func (s *arrivals) View() string {
	if s.group == nil {
		return "No group open."
	}
	g := s.group
	n := len(g.Members)
	var b strings.Builder
	state := "not launched"
	switch {
	case s.running:
		state = "running: " + safetext.Line(s.step)
	case s.final != nil && s.final.Err != nil:
		state = "stopped: " + safetext.Line(s.final.Err.Error())
	case s.final != nil:
		state = "done"
	case s.store.room.Accounts > 0:
		state = "arrived"
	}
	title := safetext.Line(g.Title)
	b.WriteString(sHeading.Render("Arrivals: "+title) + "  " + clip(state, max(s.w-len(title)-14, 10)) + "\n\n")

	st := s.store.room
	accounts := max(st.Accounts, s.steps[escape.StepArrivals].done)
	invites := max(st.Invites, s.steps[escape.StepArrivals].total)
	redeemed := max(st.Redeemed, s.steps[escape.StepArrivals].done)
	// the events know of accounts before the store has their tokens;
	// remote members come with theirs
	arrivedN := max(st.Arrived, accounts+st.Remote)
	follows := s.steps[arrival.StepFollows]
	if follows.total == 0 {
		follows = stepCount{st.Follows, arrivedN * (arrivedN - 1)}
	}
	follows.done = max(follows.done, st.Follows)
	lists := s.steps[arrival.StepLists]
	if lists.total == 0 {
		lists = stepCount{st.Lists, arrivedN}
	}
	lists.done = max(lists.done, st.Lists)
	bw := min(max(s.w-40, 10), 60)
	row := func(label string, done, total int, extra string) {
		b.WriteString(fmt.Sprintf("%-17s %s %6s %s\n", label, bar(bw, done, total), fmt.Sprintf("%d/%d", done, total), extra))
	}
	sent := ""
	if st.Sent > 0 {
		sent = fmt.Sprintf("%d mailed", st.Sent)
	}
	invited := invites
	if invited == 0 {
		invited = n
	}
	row("invites issued", invites, n, sent)
	row("redeemed", redeemed, invited, "")
	// members who kept their own accounts elsewhere need none made here
	elsewhere := ""
	if st.Remote > 0 {
		elsewhere = fmt.Sprintf("+%d remote", st.Remote)
	}
	row("accounts created", accounts, max(invited-st.Remote, accounts), elsewhere)
	row("follows seeded", follows.done, follows.total, "N(N-1)")
	row("lists made", lists.done, lists.total, "")
	// the mesh in the domain's words, as the members' page says it: how
	// far it is, and when a server's daily follow limit lets the rest be
	// made
	if p := st.Progress(s.d.now()); p != "" {
		b.WriteString(wrap(p, min(max(s.w-2, 20), 76)) + "\n")
	}
	if w := st.Where(); w != "" {
		b.WriteString(wrap(w, min(max(s.w-2, 20), 76)) + "\n")
	}
	if s.final != nil && s.final.Err == nil && s.final.Report.Server != "" {
		r := s.final.Report
		b.WriteString(sGood.Render(fmt.Sprintf("%s has arrived on %s in %.1fs", title, safetext.Line(r.Server), r.DurationS)) + "\n")
	}
	if s.final != nil && errors.Is(s.final.Err, provision.ErrUsernameTaken) {
		b.WriteString(sWarn.Render(wrap("A username was taken on the server: "+usernameTaken+".", min(max(s.w-2, 20), 76))) + "\n")
	}
	if s.store.err != nil {
		b.WriteString(sBad.Render("state: "+safetext.Line(s.store.err.Error())) + "\n")
	}
	b.WriteString("\n" + sHeading.Render(fmt.Sprintf("  %-22s %-28s %s", "Member", "Email", "State")) + "\n")
	used := strings.Count(b.String(), "\n")
	room := max(s.h-used, 2)
	first := max(0, s.cur-room+1)
	for i := first; i < n && i < first+room; i++ {
		m := g.Members[i]
		email := strings.ToLower(m.Email)
		ms := s.memberState(email)
		stText := ms
		switch ms {
		case arrival.MemberArrived:
			stText = sGood.Render(ms)
			if addr, ok := s.store.room.Elsewhere[email]; ok {
				stText += " from " + clip(safetext.Line(addr), max(s.w-62, 10))
			}
		case mFailed:
			why := safetext.Line(s.failed[email])
			if s.taken[email] {
				why = usernameTaken
			}
			stText = sBad.Render(ms + ": " + clip(why, max(s.w-62, 10)))
		}
		b.WriteString(selectLine(i == s.cur, fmt.Sprintf("%-22s %-28s ", clip(safetext.Line(m.Name), 22), clip(safetext.Line(m.Email), 28))) + stText + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}
