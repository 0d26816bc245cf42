package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/provision/existing"
	"github.com/lifeboat-social/lifeboat/provision/existing/admission"
)

// The admin screen is the server admin's side of a group's admission, as
// lifeboat admin review and lifeboat admin watch are on the command line:
// load a group's signed request (a file, its one-line form, or one of the
// requests in the store), see whether it verifies and what it asks, accept
// or reject it (recorded with admission.Decide), and run the watcher, which
// approves the sign-ups that carry a valid member proof, as a long job whose
// verdicts scroll in a log.

type (
	// adminListMsg carries the requests the store knows.
	adminListMsg struct {
		entries []adminEntry
		err     error
	}
	// requestMsg carries a request as read and checked.
	requestMsg struct {
		source string
		req    *admission.Request
		verr   error // the signature or the document does not verify
		dec    *admission.Decision
		err    error // could not read it at all
	}
	// serverScoutMsg carries the scout of the server a request asks.
	serverScoutMsg struct {
		id     string
		report *existing.Report
		err    error
	}
	// decidedMsg carries a decision as admission.DecisionFor reads it back.
	decidedMsg struct {
		id     string
		dec    admission.Decision
		answer string // the signed answer's file, for the lead
		err    error
	}
	// watchLineMsg is one line of the watcher: a verdict or a note.
	watchLineMsg struct {
		at      time.Time
		verdict *admission.Verdict
		note    string
	}
	// watchDoneMsg ends the watcher's job.
	watchDoneMsg struct{ err error }
)

// adminEntry is a request the store knows: one the admin decided, or the
// open group's own latest request (the lead's store).
type adminEntry struct {
	req *admission.Request
	dec *admission.Decision
	own bool
}

type adminView int

const (
	viewRequests adminView = iota
	viewRequest
	viewWatch
)

var (
	kAccept    = key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "accept"))
	kReject    = key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "reject"))
	kList      = key.NewBinding(key.WithKeys("l"), key.WithHelp("l", "requests"))
	kWatchView = key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "watcher"))
	kOpenReq   = key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "open request"))
	kShow      = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "show"))
	kStop      = key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "stop"))
)

const (
	watchDry  = "dry-run"
	watchReal = "approve"
)

type admin struct {
	d     Deps
	w, h  int
	group *groups.Group
	view  adminView

	entries []adminEntry
	listErr string
	cur     int

	// the request shown
	source   string
	req      *admission.Request
	verr     error
	dec      *admission.Decision
	report   *existing.Report
	scoutErr error
	scouting bool
	readErr  string
	decided  string // what the last decision means, for the lead-in

	form    *huh.Form
	formFor string // "open" | "accept" | "reject" | "watch"
	arg     string
	message string
	ask     string // "accept" | "reject" | "watch" | "stop": a y/n question

	// the watcher
	wServer, wTokenFile, wMode string
	watching                   bool
	wLog                       []string
	wErr                       string
	wMissing                   string
	vp                         viewport.Model
}

func newAdmin(d Deps) *admin { return &admin{d: d, vp: viewport.New(80, 5), wMode: watchDry} }

func (s *admin) Busy() bool { return s.form != nil || s.ask != "" }

func (s *admin) Keys() []key.Binding {
	switch {
	case s.form != nil:
		return s.form.KeyBinds()
	case s.ask != "":
		return []key.Binding{kYes, kNo}
	}
	switch s.view {
	case viewRequest:
		if s.req != nil && s.verr == nil {
			return []key.Binding{kAccept, kReject, kList, kWatchView, kOpenReq}
		}
		return []key.Binding{kList, kWatchView, kOpenReq}
	case viewWatch:
		if s.watching {
			return []key.Binding{kStop, kUp, kDown, kList}
		}
		return []key.Binding{kUpStart, kList, kOpenReq}
	}
	return []key.Binding{kUp, kDown, kShow, kOpenReq, kWatchView}
}

func (s *admin) Update(msg tea.Msg) (screen, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		s.w, s.h = msg.Width, msg.Height
		s.layout()
	case groupLoadedMsg:
		if msg.err == nil && msg.group != nil {
			s.group = msg.group
		}
	case enteredMsg:
		if msg.id == adminScreen {
			return s, loadAdminList(s.d, s.group)
		}
	case adminListMsg:
		s.entries, s.listErr = msg.entries, ""
		if msg.err != nil {
			s.listErr = msg.err.Error()
		}
		s.cur = min(s.cur, max(len(s.entries)-1, 0))
	case requestMsg:
		if msg.err != nil {
			s.readErr = msg.err.Error()
			return s, status("cannot read the request: %v", msg.err)
		}
		s.view, s.readErr, s.decided = viewRequest, "", ""
		s.source, s.req, s.verr, s.dec = msg.source, msg.req, msg.verr, msg.dec
		s.report, s.scoutErr, s.scouting = nil, nil, true
		if s.wServer == "" {
			s.wServer = msg.req.Server
		}
		return s, scoutServer(s.d, msg.req)
	case serverScoutMsg:
		if s.req != nil && msg.id == s.req.ID() {
			s.report, s.scoutErr, s.scouting = msg.report, msg.err, false
		}
	case decidedMsg:
		if msg.err != nil {
			return s, status("not recorded: %v", msg.err)
		}
		if s.req != nil && msg.id == s.req.ID() {
			d := msg.dec
			s.dec = &d
			r := s.req
			if d.Accepted {
				s.decided = fmt.Sprintf("Accepted. Members of %s who sign up on %s between %s and %s with their proof, and confirm their email, are approved by the watcher (w).",
					r.Group.Title, r.Server, shortTime(r.Window.From), shortTime(r.Window.Until))
			} else {
				s.decided = fmt.Sprintf("Rejected. The watcher approves none of %s's sign-ups.", r.Group.Title)
			}
			s.decided += fmt.Sprintf(" Your signed answer is %s in the state directory: send it to the lead (%s), who runs lifeboat request accepted GROUP.yaml with it.",
				msg.answer, r.Lead.Email)
			s.wServer = r.Server
		}
		word := "rejected"
		if msg.dec.Accepted {
			word = "accepted"
		}
		return s, tea.Batch(status("%s %s: recorded", word, msg.dec.Request.Group.Title), loadAdminList(s.d, s.group))
	case watchLineMsg:
		s.addLog(msg)
	case watchDoneMsg:
		s.watching = false
		switch {
		case msg.err == nil, errors.Is(msg.err, context.Canceled):
			s.addLog(watchLineMsg{at: s.d.now(), note: "stopped"})
		default:
			s.wErr = msg.err.Error()
			var miss missingToken
			if errors.As(msg.err, &miss) {
				s.wMissing = miss.Error()
			}
			s.addLog(watchLineMsg{at: s.d.now(), note: "stopped: " + msg.err.Error()})
		}
		s.layout()
	case tea.KeyMsg:
		if s.form != nil {
			return s.updateForm(msg)
		}
		if s.ask != "" {
			return s.answer(msg)
		}
		return s.key(msg)
	default:
		if s.form != nil {
			return s.updateForm(msg)
		}
	}
	return s, nil
}

func (s *admin) key(msg tea.KeyMsg) (screen, tea.Cmd) {
	switch {
	case key.Matches(msg, kOpenReq):
		s.arg = ""
		return s, s.openForm("open", huh.NewGroup(
			huh.NewInput().Title("Request file, or its one-line lifeboat-admission:… form").
				Placeholder("~/admission-social.example.json").Value(&s.arg).Validate(nonEmpty("a file or the one-line form")),
		).Title("Open an admission request"))
	case key.Matches(msg, kWatchView):
		s.view = viewWatch
		s.layout()
		return s, nil
	case key.Matches(msg, kList) && s.view != viewRequests:
		s.view = viewRequests
		return s, loadAdminList(s.d, s.group)
	}
	switch s.view {
	case viewRequests:
		switch {
		case key.Matches(msg, kUp):
			s.cur = max(s.cur-1, 0)
		case key.Matches(msg, kDown):
			s.cur = min(s.cur+1, max(len(s.entries)-1, 0))
		case key.Matches(msg, kShow) && s.cur < len(s.entries):
			e := s.entries[s.cur]
			return s, showRequest(s.d, "the store", e.req)
		}
	case viewRequest:
		if s.req == nil || s.verr != nil {
			return s, nil
		}
		switch {
		case key.Matches(msg, kAccept), key.Matches(msg, kReject):
			what := "accept"
			if key.Matches(msg, kReject) {
				what = "reject"
			}
			s.message = ""
			return s, s.openForm(what, huh.NewGroup(
				huh.NewInput().Title("Message to the group (kept with the decision; may be empty)").Value(&s.message),
			).Title(capitalise(what)+" "+s.req.Group.Title))
		}
	case viewWatch:
		switch {
		case key.Matches(msg, kUpStart) && !s.watching:
			return s, s.openForm("watch", huh.NewGroup(
				huh.NewInput().Title("Your server").Placeholder("https://social.example").Value(&s.wServer).Validate(nonEmpty("your server's URL")),
				huh.NewInput().Title("Admin token file, mode 0600 (empty: $LIFEBOAT_ADMIN_TOKEN)").Value(&s.wTokenFile),
				huh.NewSelect[string]().Title("Mode").Options(
					huh.NewOption("dry run: show what would be approved, change nothing", watchDry),
					huh.NewOption("approve: approve the sign-ups with a valid proof", watchReal),
				).Value(&s.wMode),
			).Title("Watch pending sign-ups"))
		case key.Matches(msg, kStop) && s.watching:
			s.ask = "stop"
		default:
			var cmd tea.Cmd
			s.vp, cmd = s.vp.Update(msg)
			return s, cmd
		}
	}
	return s, nil
}

func (s *admin) openForm(what string, g *huh.Group) tea.Cmd {
	s.formFor = what
	s.form = huh.NewForm(g).WithTheme(formTheme()).WithKeyMap(formKeys()).WithShowHelp(false).WithWidth(min(max(s.w, 40), 76))
	return s.form.Init()
}

func (s *admin) updateForm(msg tea.Msg) (screen, tea.Cmd) {
	m, cmd := s.form.Update(msg)
	s.form = m.(*huh.Form)
	switch s.form.State {
	case huh.StateAborted:
		s.form = nil
		return s, status("nothing changed")
	case huh.StateCompleted:
		s.form = nil
		switch s.formFor {
		case "open":
			return s, readRequest(s.d, strings.TrimSpace(s.arg))
		case "accept", "reject":
			s.ask = s.formFor
		case "watch":
			s.wServer = strings.TrimRight(strings.TrimSpace(s.wServer), "/")
			if s.wMode == watchReal {
				s.ask = "watch"
				return s, nil
			}
			return s, s.startWatch()
		}
		return s, nil
	}
	return s, cmd
}

func (s *admin) answer(msg tea.KeyMsg) (screen, tea.Cmd) {
	q := s.ask
	s.ask = ""
	if !key.Matches(msg, kYes) {
		return s, status("nothing changed")
	}
	switch q {
	case "accept", "reject":
		return s, decide(s.d, s.req, q == "accept", strings.TrimSpace(s.message))
	case "watch":
		return s, s.startWatch()
	case "stop":
		return s, func() tea.Msg { return cancelJobMsg{} }
	}
	return s, nil
}

func (s *admin) View() string {
	if s.form != nil {
		return s.form.View()
	}
	switch s.view {
	case viewRequest:
		return s.requestView()
	case viewWatch:
		return s.watchView()
	}
	return s.listView()
}

// wrap breaks s into lines of at most w cells at spaces.
func wrap(s string, w int) string {
	if w <= 10 {
		return s
	}
	var lines []string
	var cur string
	for _, word := range strings.Fields(s) {
		switch {
		case cur == "":
			cur = word
		case len([]rune(cur))+1+len([]rune(word)) <= w:
			cur += " " + word
		default:
			lines = append(lines, cur)
			cur = word
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return strings.Join(lines, "\n")
}
