// Package tui is the group lead's cockpit: a Bubble Tea program with one
// model per screen (home, group, pledges, destination, provisioning,
// arrivals, admin, analyze) behind a root model that routes messages, owns the
// header, the help bar and the one long job that may be running.
//
// Nothing here does I/O inside Update: loading, saving and long work run
// as tea.Cmds, and a long job's progress events reach the screens as
// EventMsg through a channel read by a re-issued waitFor command (inside
// the TUI) or through Program.Send (RunArrivals, for lifeboat demo). Those
// are the same progress.Events the plain output prints.
package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/lifeboat-social/lifeboat/escape"
	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/safetext"
	"github.com/lifeboat-social/lifeboat/lead"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/provision/existing"
	"github.com/lifeboat-social/lifeboat/provision/existing/admission"
)

// Deps is what the TUI works with, handed over by the command. Hooks that
// are nil turn their action into a hint saying which command does it.
type Deps struct {
	Desk     *lead.Desk // the store's answers; nil: screens that need state say so
	StateDir string
	Now      func() time.Time // default time.Now; tests fix it

	// Launch runs the group's escape on its destination (the local
	// destination: the whole playbook), emitting progress events.
	Launch func(ctx context.Context, g *groups.Group, emit progress.Func) (escape.Report, error)
	// Provision makes the group's destination ready; a new server's DNS
	// records come as events (provision.StepDNSRecord) as soon as known.
	Provision func(ctx context.Context, g *groups.Group, emit progress.Func) error
	// Readiness says whether the group may launch onto its destination
	// now, and if not, what is missing (path is the group file, for the
	// commands it names). nil: the pledges screen does not say.
	Readiness func(ctx context.Context, g *groups.Group, path string) (campaign.Readiness, error)
	// OpenPledges mails every member of the group in file their pledge
	// link under baseURL, as lifeboat pledges open does; it returns how
	// many were sent.
	OpenPledges func(ctx context.Context, file, baseURL string) (int, error)
	// ExportPledges writes the same links as CSV to csv and as a
	// printable sheet to sheet, as lifeboat pledges export does, for a
	// lead without a mail relay; it returns how many.
	ExportPledges func(ctx context.Context, file, baseURL, csv, sheet string) (int, error)
	// Decide approves or declines the person who joined the group in
	// file with email, as lifeboat members review does
	// (web.Server.Decide): the welcome or the one polite refusal is
	// mailed once, its links under baseURL; without a mail relay the
	// mail waits, journaled, for lifeboat serve. nil: the members view
	// names the command.
	Decide func(ctx context.Context, file, baseURL, email string, approve bool) error
	// AnnounceRequest sends the server's contact account a direct
	// message about the request, from the lead's own account, as
	// lifeboat request --dm does (lead.Announce). nil: the screen says
	// to use the command.
	AnnounceRequest func(ctx context.Context, r *existing.Report, req *admission.Request) error
	// Prices prices ServerTypes for a new server from live prices
	// (hetzner.Prices); nil: the screen says to use lifeboat plan.
	Prices func(ctx context.Context, g *groups.Group) (provision.Prices, error)
	// ServerTypes and Locations are what a new server can be; the first
	// of each is the default.
	ServerTypes, Locations []string
	// Scout reads what an existing server runs and admits (the
	// destination screen, and the admin screen's size and rules check).
	// Default: existing.ScoutURL.
	Scout func(ctx context.Context, url string) (*existing.Report, error)
	// AdminToken reads the admin's token for the watcher as lifeboat
	// admin watch does: $LIFEBOAT_ADMIN_TOKEN when file is "", else the
	// file, which only its owner may read. nil: the admin screen says to
	// use lifeboat admin watch.
	AdminToken func(file string) (string, error)
	// WatchInterval is the time between the watcher's polls (default 30s).
	WatchInterval time.Duration

	// ctx is the model's: commands run under it, so quitting cancels them.
	ctx context.Context
	// wd and home are the working and home directories, read once for
	// showing paths short.
	wd, home string
}

func (d Deps) scout(ctx context.Context, url string) (*existing.Report, error) {
	if d.Scout != nil {
		return d.Scout(ctx, url)
	}
	return existing.ScoutURL(ctx, url, nil)
}

// errNoStore: the TUI runs without its state store (it could not be
// opened), so the screens that read it say so.
var errNoStore = errors.New("no state store")

// fromDesk asks the store's Desk a question, with the screens' time
// limit for a read.
func fromDesk[T any](d Deps, ask func(context.Context, *lead.Desk) (T, error)) (T, error) {
	if d.Desk == nil {
		var none T
		return none, errNoStore
	}
	ctx, cancel := context.WithTimeout(d.ctx, 5*time.Second)
	defer cancel()
	return ask(ctx, d.Desk)
}

func (d Deps) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// EventMsg is one progress event of the running job.
type EventMsg progress.Event

// DoneMsg ends a job: the escape's report, or why it stopped.
type DoneMsg struct {
	Report escape.Report
	Err    error
}

// Messages the root model handles itself.
type (
	// openMsg asks the root to load a group file.
	openMsg struct{ path string }
	// groupLoadedMsg carries a group file as read (or saved) and checked.
	groupLoadedMsg struct {
		path  string
		data  []byte
		group *groups.Group // nil when the file has problems
		probs groups.Problems
		err   error
		note  string // what happened, for the status line ("saved")
	}
	// switchMsg moves to a screen.
	switchMsg struct{ to screenID }
	// statusMsg sets the status line.
	statusMsg string
	// startJobMsg asks for a long job. Launching and provisioning are
	// the root's; a screen's own job (the watcher) comes with run, which
	// sends its messages through send and ends with watchDoneMsg.
	startJobMsg struct {
		kind jobKind
		run  func(ctx context.Context, send func(tea.Msg)) error
	}
	// cancelJobMsg cancels the running job.
	cancelJobMsg struct{}
	// jobStartedMsg tells the screens a job began.
	jobStartedMsg struct{ kind jobKind }
)

type jobKind int

const (
	jobLaunch jobKind = iota + 1
	jobProvision
	jobWatch // the admin's watcher
)

func (k jobKind) String() string {
	switch k {
	case jobProvision:
		return "provisioning"
	case jobWatch:
		return "the watcher"
	}
	return "the launch"
}

type screenID int

const (
	homeScreen screenID = iota
	groupScreen
	pledgesScreen
	destScreen
	provScreen
	arrivalsScreen
	adminScreen
	analyzeScreen
	nScreens
)

var screenNames = [nScreens]string{"Home", "Group", "Pledges", "Destination", "Provision", "Arrivals", "Admin", "Analyze"}

// screen is one page. Update returns the screen itself, changed.
type screen interface {
	Update(msg tea.Msg) (screen, tea.Cmd)
	View() string
	// Keys are the screen's keys for the help bar.
	Keys() []key.Binding
	// Busy reports that a form or a question has the keyboard: global
	// keys (q, digits, tab) then go to the screen.
	Busy() bool
}

// Model is the root model.
type Model struct {
	d      Deps
	ctx    context.Context
	keys   globalKeys
	help   help.Model
	w, h   int
	active screenID
	scr    [nScreens]screen

	path  string // the open group file
	title string
	// only is set for RunArrivals: the arrivals screen alone, no tabs.
	only bool

	job       jobKind
	jobCancel context.CancelFunc
	jobCh     chan tea.Msg
	confirmQ  bool // asked "quit and cancel the job?"

	status string
	Err    error // the job's error, for RunArrivals
	Report escape.Report
}

// New returns the root model: the home screen, or the group in file.
func New(ctx context.Context, d Deps, file string) Model {
	d.ctx = ctx
	d.wd, _ = os.Getwd()
	d.home, _ = os.UserHomeDir()
	m := Model{d: d, ctx: ctx, keys: newGlobalKeys(), help: help.New(), w: 80, h: 24, path: file}
	m.scr[homeScreen] = newHome(d)
	m.scr[groupScreen] = newGroupView(d)
	m.scr[pledgesScreen] = newPledges(d)
	m.scr[destScreen] = newDestination(d)
	m.scr[provScreen] = newProvisioning(d)
	m.scr[arrivalsScreen] = newArrivals(d)
	m.scr[adminScreen] = newAdmin(d)
	m.scr[analyzeScreen] = newAnalysis(d)
	if file != "" {
		m.active = groupScreen
	}
	return m
}

// Init loads what the first screen shows.
func (m Model) Init() tea.Cmd {
	if m.only {
		return nil
	}
	if m.path != "" {
		return loadGroup(m.d, m.path, "")
	}
	return loadHome(m.d)
}

func (m Model) bodySize() tea.WindowSizeMsg {
	chrome := 5
	if m.only {
		chrome = 3
	}
	if m.help.ShowAll {
		chrome += 2
	}
	return tea.WindowSizeMsg{Width: m.w, Height: max(m.h-chrome, 3)}
}

// Update routes messages: keys to the global keys or the active screen,
// everything else to every screen (each ignores what is not its own).
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmds []tea.Cmd
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
		m.help.Width = msg.Width
		return m.broadcast(m.bodySize())
	case tea.KeyMsg:
		return m.key(msg)
	case openMsg:
		m.status = "opening " + msg.path
		return m, loadGroup(m.d, msg.path, "")
	case groupLoadedMsg:
		if msg.err != nil {
			m.status = "cannot open: " + msg.err.Error()
			return m.broadcast(msg)
		}
		m.path = msg.path
		if msg.group != nil {
			m.title = msg.group.Title
		} else if m.title == "" {
			m.title = msg.path
		}
		m.status = msg.note
		if m.active == homeScreen {
			m.active = groupScreen
		}
		return m.broadcast(msg)
	case switchMsg:
		m.active = msg.to
		return m, m.enter()
	case statusMsg:
		m.status = string(msg)
		return m, nil
	case startJobMsg:
		if msg.run != nil {
			return m.startScreenJob(msg)
		}
		return m.startJob(msg.kind)
	case cancelJobMsg:
		if m.jobCancel != nil {
			m.jobCancel()
			m.status = "cancelling " + m.job.String() + "…"
		}
		return m, nil
	case EventMsg, watchLineMsg:
		m, cmd := m.broadcast(msg)
		return m, tea.Batch(cmd, m.waitJob())
	case watchDoneMsg:
		switch {
		case errors.Is(msg.err, context.Canceled):
			m.status = "the watcher stopped"
		case msg.err != nil:
			m.status = "the watcher stopped: " + msg.err.Error()
		}
		if m.jobCancel != nil {
			m.jobCancel()
		}
		m.job, m.jobCancel, m.jobCh = 0, nil, nil
		return m.broadcast(msg)
	case DoneMsg:
		m.Report, m.Err = msg.Report, msg.Err
		switch {
		case errors.Is(msg.Err, context.Canceled):
			m.status = m.job.String() + " was cancelled"
		case msg.Err != nil:
			m.status = m.job.String() + " failed: " + msg.Err.Error()
		default:
			m.status = m.job.String() + " is done"
		}
		if m.jobCancel != nil {
			m.jobCancel()
		}
		m.job, m.jobCancel, m.jobCh = 0, nil, nil
		mm, cmd := m.broadcast(msg)
		if m.only {
			return mm, tea.Quit
		}
		return mm, cmd
	}
	mm, cmd := m.broadcast(msg)
	cmds = append(cmds, cmd)
	return mm, tea.Batch(cmds...)
}

func (m Model) broadcast(msg tea.Msg) (Model, tea.Cmd) {
	var cmds []tea.Cmd
	for i, s := range m.scr {
		var cmd tea.Cmd
		m.scr[i], cmd = s.Update(msg)
		cmds = append(cmds, cmd)
	}
	return m, tea.Batch(cmds...)
}

func (m Model) key(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	if key.Matches(msg, m.keys.ForceQuit) {
		if m.jobCancel != nil {
			m.jobCancel()
		}
		return m, tea.Quit
	}
	if m.confirmQ {
		m.confirmQ = false
		if key.Matches(msg, kYes) {
			// the job may have ended while the question was asked
			if m.jobCancel != nil {
				m.jobCancel()
			}
			return m, tea.Quit
		}
		m.status = ""
		return m, nil
	}
	cur := m.scr[m.active]
	if !cur.Busy() {
		switch {
		case key.Matches(msg, m.keys.Quit):
			if m.jobCancel != nil {
				m.confirmQ = true
				m.status = fmt.Sprintf("%s is running. Quit and cancel it? y/n", capitalise(m.job.String()))
				return m, nil
			}
			return m, tea.Quit
		case key.Matches(msg, m.keys.Help):
			m.help.ShowAll = !m.help.ShowAll
			return m.broadcast(m.bodySize())
		case m.only:
		case key.Matches(msg, m.keys.Home) && m.active != homeScreen:
			m.active = homeScreen
			return m, loadHome(m.d)
		case m.path != "" && key.Matches(msg, m.keys.Next):
			m.active = m.active%(nScreens-1) + 1
			return m, m.enter()
		case m.path != "" && key.Matches(msg, m.keys.Prev):
			m.active = (m.active+nScreens-3)%(nScreens-1) + 1
			return m, m.enter()
		case m.path != "":
			for i, b := range m.keys.Screens {
				if key.Matches(msg, b) {
					m.active = screenID(i + 1)
					return m, m.enter()
				}
			}
		}
	}
	var cmd tea.Cmd
	m.scr[m.active], cmd = cur.Update(msg)
	return m, cmd
}

// enteredMsg tells a screen it became the active one (to refresh).
type enteredMsg struct{ id screenID }

func (m Model) enter() tea.Cmd {
	id := m.active
	return func() tea.Msg { return enteredMsg{id} }
}

// startJob begins a long job as a command; its events come back through
// jobCh, read by waitJob one message at a time.
func (m Model) startJob(kind jobKind) (tea.Model, tea.Cmd) {
	if m.jobCancel != nil {
		m.status = capitalise(m.job.String()) + " is already running"
		return m, nil
	}
	g := m.group()
	if g == nil {
		m.status = "the group file has problems: fix them first"
		return m, nil
	}
	var run func(ctx context.Context, emit progress.Func) (escape.Report, error)
	switch kind {
	case jobLaunch:
		if g.Destination.Type == groups.DestLocal {
			// the local playbook makes up every member's pledge and
			// arrival: a demo, never a real group's launch
			m.status = localIsDemo(m.d.shortPath(m.path))
			return m, nil
		}
		if m.d.Launch == nil {
			m.status = "launching is not available here; run: lifeboat pledges launch " + m.path
			return m, nil
		}
		run = func(ctx context.Context, emit progress.Func) (escape.Report, error) {
			return m.d.Launch(ctx, g, emit)
		}
	case jobProvision:
		if m.d.Provision == nil {
			m.status = "provisioning is not available here; run: lifeboat up " + m.path
			return m, nil
		}
		run = func(ctx context.Context, emit progress.Func) (escape.Report, error) {
			return escape.Report{}, m.d.Provision(ctx, g, emit)
		}
	}
	ctx, cancel := context.WithCancel(m.ctx)
	ch := make(chan tea.Msg, 256)
	m.job, m.jobCancel, m.jobCh = kind, cancel, ch
	m.status = capitalise(kind.String()) + " is running"
	if kind == jobLaunch {
		m.active = arrivalsScreen
	} else {
		m.active = provScreen
	}
	// the job's last message is its DoneMsg, through the same channel, so
	// it comes after every event
	job := func() tea.Msg {
		emit := func(e progress.Event) { ch <- EventMsg(e) }
		rep, err := run(ctx, emit)
		ch <- DoneMsg{Report: rep, Err: err}
		close(ch)
		return nil
	}
	mm, cmd := m.broadcast(jobStartedMsg{kind})
	return mm, tea.Batch(cmd, job, mm.waitJob())
}

// startScreenJob runs a screen's own long job (the watcher): like
// startJob, one at a time and cancelled on quit, but it needs no group
// and its messages are the screen's own, ending with watchDoneMsg.
func (m Model) startScreenJob(msg startJobMsg) (tea.Model, tea.Cmd) {
	if m.jobCancel != nil {
		m.status = capitalise(m.job.String()) + " is already running"
		return m.broadcast(watchDoneMsg{err: errors.New(m.status)})
	}
	ctx, cancel := context.WithCancel(m.ctx)
	ch := make(chan tea.Msg, 256)
	m.job, m.jobCancel, m.jobCh = msg.kind, cancel, ch
	m.status = capitalise(msg.kind.String()) + " is running"
	run := msg.run
	job := func() tea.Msg {
		send := func(msg tea.Msg) {
			select {
			case ch <- msg:
			case <-ctx.Done():
			}
		}
		err := run(ctx, send)
		ch <- watchDoneMsg{err: err}
		close(ch)
		return nil
	}
	return m, tea.Batch(job, m.waitJob())
}

// waitJob reads the next message of the running job.
func (m Model) waitJob() tea.Cmd { return next(m.jobCh) }

// next reads the next message from ch: a long job's messages come back
// one at a time, each read by a command re-issued when the last arrives.
func next(ch chan tea.Msg) tea.Cmd {
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		msg, ok := <-ch
		if !ok {
			return nil
		}
		return msg
	}
}

func (m Model) group() *groups.Group {
	if g, ok := m.scr[groupScreen].(*groupView); ok {
		return g.group
	}
	return nil
}

// View is the header, the active screen and the help bar, fitted to the
// terminal: every line is cut to the width and the body padded or cut to
// its height, so a resize never leaves the frame ragged.
func (m Model) View() string {
	body := m.scr[m.active].View()
	bs := m.bodySize()
	var b strings.Builder
	if !m.only {
		title := "Lifeboat"
		if m.title != "" {
			title += " · " + safetext.Line(m.title)
		}
		b.WriteString(clip(sTitle.Render(title), m.w) + "\n")
		b.WriteString(clip(m.tabs(), m.w) + "\n")
	}
	b.WriteString(sMuted.Render(strings.Repeat("─", m.w)) + "\n")
	lines := strings.Split(body, "\n")
	for i := 0; i < bs.Height; i++ {
		if i < len(lines) {
			b.WriteString(fitLine(lines[i], m.w))
		}
		b.WriteByte('\n')
	}
	// the status line quotes errors, files and servers
	b.WriteString(clip(sStatus.Render(safetext.Line(m.status)), m.w) + "\n")
	b.WriteString(clip(m.helpView(), m.w))
	return b.String()
}

func fitLine(s string, w int) string {
	if lipgloss.Width(s) <= w {
		return s
	}
	return lipgloss.NewStyle().MaxWidth(w).Render(s)
}

func (m Model) tabs() string {
	var parts []string
	for i := homeScreen; i < nScreens; i++ {
		name := screenNames[i]
		if i > homeScreen {
			name = fmt.Sprintf("%d %s", i, name)
		}
		if i == m.active {
			parts = append(parts, sTabOn.Render("["+name+"]"))
		} else if i > homeScreen && m.path == "" {
			continue
		} else {
			parts = append(parts, sTab.Render(" "+name+" "))
		}
	}
	return strings.Join(parts, "")
}

func (m Model) helpView() string {
	ks := m.scr[m.active].Keys()
	if !m.scr[m.active].Busy() {
		ks = append(ks, m.keys.Quit, m.keys.Help)
		if m.help.ShowAll && !m.only {
			if m.path != "" {
				ks = append(ks, m.keys.Screens[0], m.keys.Next, m.keys.Prev)
			}
			if m.active != homeScreen {
				ks = append(ks, m.keys.Home)
			}
		}
	}
	if m.help.ShowAll {
		return m.help.FullHelpView(columns(ks, 3))
	}
	if m.scr[m.active].Busy() {
		return m.help.ShortHelpView(ks)
	}
	// q and ? always show: a narrow terminal cuts the screen's own keys
	own := ks[:len(ks)-2]
	tail := m.help.ShortHelpView(ks[len(ks)-2:])
	h := m.help
	h.Width = max(m.w-lipgloss.Width(tail)-lipgloss.Width(h.ShortSeparator), 1)
	if len(own) == 0 {
		return tail
	}
	return h.ShortHelpView(own) + h.Styles.ShortSeparator.Inline(true).Render(h.ShortSeparator) + tail
}

// columns splits keys into columns of n for the full help.
func columns(ks []key.Binding, n int) [][]key.Binding {
	var out [][]key.Binding
	for len(ks) > n {
		out = append(out, ks[:n])
		ks = ks[n:]
	}
	return append(out, ks)
}

// localIsDemo says what the local destination is for, as lifeboat run
// does: trying an escape with simulated members.
func localIsDemo(file string) string {
	return "the local destination is for trying an escape with simulated members: run lifeboat demo --group " + file
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Run runs the TUI full screen on the terminal: the home screen, or the
// group in file when it is not empty.
func Run(ctx context.Context, d Deps, file string, in io.Reader, out io.Writer) error {
	ApplyNoColor()
	// quitting ends every command still running under the model's context
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	opts := []tea.ProgramOption{tea.WithAltScreen(), tea.WithContext(ctx)}
	if in != nil {
		opts = append(opts, tea.WithInput(in))
	}
	if out != nil {
		opts = append(opts, tea.WithOutput(out))
	}
	final, err := tea.NewProgram(New(ctx, d, file), opts...).Run()
	if fm, ok := final.(Model); ok && fm.jobCancel != nil {
		fm.jobCancel()
	}
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
