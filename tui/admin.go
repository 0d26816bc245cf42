package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"

	"github.com/lifeboat-social/lifeboat/admission"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/safetext"
	"github.com/lifeboat-social/lifeboat/provision/existing"
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

// startWatch asks the root for the watcher job. Reading the token is I/O:
// it happens in the job, which ends at once saying what is missing.
func (s *admin) startWatch() tea.Cmd {
	s.wErr, s.wMissing = "", ""
	if s.d.AdminToken == nil {
		s.wMissing = "the admin token is read by the command line here: run lifeboat admin watch --server " + s.wServer
		return nil
	}
	if s.d.Desk == nil {
		s.wMissing = "the store (state directory) is not available: the watcher needs the recorded decisions"
		return nil
	}
	s.watching = true
	s.wLog = nil
	s.view = viewWatch
	s.layout()
	return func() tea.Msg {
		return startJobMsg{kind: jobWatch, run: watchJob(s.d, s.wServer, strings.TrimSpace(s.wTokenFile), s.wMode == watchDry)}
	}
}

// missingToken is the admin token's absence or unsafety, said as the
// admin must fix it.
type missingToken struct{ err error }

func (e missingToken) Error() string { return e.err.Error() }
func (e missingToken) Unwrap() error { return e.err }

// watchJob is the watcher as lifeboat admin watch runs it: the token,
// its scopes, then a poll every interval, each new verdict sent once.
func watchJob(d Deps, server, tokenFile string, dry bool) func(ctx context.Context, send func(tea.Msg)) error {
	interval := d.WatchInterval
	if interval <= 0 {
		interval = 30 * time.Second
	}
	return func(ctx context.Context, send func(tea.Msg)) error {
		tok, err := d.AdminToken(tokenFile)
		if err != nil {
			return missingToken{err}
		}
		w, accepted, err := admission.StartWatch(ctx, d.Desk.Journal(), server, tok, dry)
		if err != nil {
			return err
		}
		mode := ""
		if dry {
			mode = " (dry run)"
		}
		send(watchLineMsg{at: d.now(), note: fmt.Sprintf("watching %s every %s%s; %d accepted %s", server, interval, mode,
			accepted, plural(accepted, "group", "groups"))})
		if accepted == 0 {
			send(watchLineMsg{at: d.now(), note: "no accepted admission request for this server yet: every sign-up is left for you"})
		}
		w.Now = d.Now
		return w.Watch(ctx, interval, func(v admission.Verdict) {
			send(watchLineMsg{at: d.now(), verdict: &v})
		})
	}
}

func (s *admin) addLog(m watchLineMsg) {
	line := m.at.UTC().Format("15:04:05") + "  "
	switch {
	case m.verdict != nil:
		line += safetext.Line(m.verdict.String()) // usernames are the server's
	default:
		line += safetext.Line(m.note)
	}
	s.wLog = append(s.wLog, line)
	if len(s.wLog) > logLines {
		s.wLog = s.wLog[len(s.wLog)-logLines:]
	}
	atEnd := s.vp.AtBottom() || s.vp.TotalLineCount() <= s.vp.Height
	s.vp.SetContent(s.logContent())
	if atEnd {
		s.vp.GotoBottom()
	}
}

// logContent is the log with long lines wrapped under their text.
func (s *admin) logContent() string {
	var out []string
	for _, l := range s.wLog {
		if len([]rune(l)) <= s.vp.Width {
			out = append(out, l)
			continue
		}
		w := wrap(l[10:], s.vp.Width-10)
		out = append(out, l[:10]+strings.ReplaceAll(w, "\n", "\n"+strings.Repeat(" ", 10)))
	}
	return strings.Join(out, "\n")
}

// layout gives the watcher's log what its header leaves.
func (s *admin) layout() {
	used := 5
	if s.wErr != "" {
		used += 3
	}
	s.vp.Width = max(s.w, 20)
	s.vp.Height = max(s.h-used, 3)
	s.vp.SetContent(s.logContent())
	s.vp.GotoBottom()
}

// Commands. None of them changes the screen: they return messages.

func loadAdminList(d Deps, g *groups.Group) tea.Cmd {
	if d.Desk == nil {
		return func() tea.Msg { return adminListMsg{err: errors.New("no store: the state directory is not available")} }
	}
	group := ""
	if g != nil {
		group = g.Name
	}
	return func() tea.Msg {
		ctx := d.ctx
		j := d.Desk.Journal()
		ds, err := admission.Decisions(ctx, j)
		if err != nil {
			return adminListMsg{err: err}
		}
		var out []adminEntry
		for _, dec := range ds {
			dec := dec
			out = append(out, adminEntry{req: dec.Request, dec: &dec})
		}
		if group != "" {
			if r, err := admission.LatestRequest(ctx, j, group, ""); err == nil &&
				!slices.ContainsFunc(out, func(e adminEntry) bool { return e.req.ID() == r.ID() }) {
				out = append(out, adminEntry{req: r, own: true})
			}
		}
		slices.SortStableFunc(out, func(a, b adminEntry) int { return b.req.CreatedAt.Compare(a.req.CreatedAt) })
		return adminListMsg{entries: out}
	}
}

// readRequest reads a request from a file or its one-line form, as
// lifeboat admin review does (links and stdin stay with the command).
func readRequest(d Deps, arg string) tea.Cmd {
	return func() tea.Msg {
		var data []byte
		source := arg
		if strings.HasPrefix(arg, admission.TokenPrefix) {
			data, source = []byte(arg), "the one-line form"
		} else {
			path := arg
			if rest, ok := strings.CutPrefix(path, "~/"); ok {
				if home, err := os.UserHomeDir(); err == nil {
					path = filepath.Join(home, rest)
				}
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return requestMsg{err: err}
			}
			data = b
		}
		req, verr := admission.Decode(data)
		if req == nil {
			return requestMsg{err: fmt.Errorf("read the request: %w", verr)}
		}
		return withDecision(d, requestMsg{source: source, req: req, verr: verr})
	}
}

// showRequest shows a request from the store, checked again.
func showRequest(d Deps, source string, req *admission.Request) tea.Cmd {
	return func() tea.Msg {
		return withDecision(d, requestMsg{source: source, req: req, verr: req.Verify()})
	}
}

func withDecision(d Deps, msg requestMsg) requestMsg {
	if d.Desk == nil {
		return msg
	}
	msg.dec, msg.err = d.Desk.Decision(d.ctx, msg.req.ID())
	return msg
}

// scoutServer reads the asked server's active users and current rules.
func scoutServer(d Deps, req *admission.Request) tea.Cmd {
	id, server := req.ID(), req.Server
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(d.ctx, 45*time.Second)
		defer cancel()
		r, err := d.scout(ctx, server)
		return serverScoutMsg{id: id, report: r, err: err}
	}
}

// decide records the decision with admission.Decide and writes the
// signed answer for the lead, exactly as lifeboat admin review
// --accept/--reject does, and reads the decision back.
func decide(d Deps, req *admission.Request, accept bool, message string) tea.Cmd {
	return func() tea.Msg {
		if d.Desk == nil {
			return decidedMsg{err: errors.New("no store: the state directory is not available")}
		}
		ctx := d.ctx
		j := d.Desk.Journal()
		if err := admission.Decide(ctx, j, req, accept, message, d.now()); err != nil {
			return decidedMsg{id: req.ID(), err: err}
		}
		_, file, err := admission.WriteAnswer(d.StateDir, "", req.ID(), req.Server, req.Group.Name, accept, message, d.now())
		if err != nil {
			return decidedMsg{id: req.ID(), err: err}
		}
		if rel, err := filepath.Rel(d.StateDir, file); err == nil {
			file = rel
		}
		dec, err := admission.DecisionFor(ctx, j, req.ID())
		return decidedMsg{id: req.ID(), dec: dec, answer: file, err: err}
	}
}

// Views.

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

func (s *admin) listView() string {
	var b strings.Builder
	b.WriteString(sHeading.Render("Admin: admission requests") + "\n\n")
	switch {
	case s.listErr != "":
		b.WriteString(sBad.Render(clip(safetext.Line(s.listErr), s.w)) + "\n")
	case len(s.entries) == 0:
		b.WriteString("No admission requests in the store yet.\n")
	default:
		b.WriteString(sHeading.Render(fmt.Sprintf("  %-20s %4s  %-19s %s", "Group", "Size", "Decision", "Server")) + "\n")
		for i, e := range s.entries {
			state := "none yet"
			switch {
			case e.own:
				state = "sent by this group"
			case e.dec != nil && e.dec.Accepted:
				state = "accepted " + e.dec.At.UTC().Format("2006-01-02")
			case e.dec != nil:
				state = "rejected " + e.dec.At.UTC().Format("2006-01-02")
			}
			line := fmt.Sprintf("%-20s %4d  %-19s %s", clip(safetext.Line(e.req.Group.Title), 20), e.req.Size, state, safetext.Line(e.req.Server))
			b.WriteString(clip(selectLine(i == s.cur, line), s.w) + "\n")
		}
	}
	if s.readErr != "" {
		b.WriteString("\n" + sBad.Render(clip("cannot read the request: "+safetext.Line(s.readErr), s.w)) + "\n")
	}
	b.WriteString("\n" + sMuted.Render("A group's lead sends you a signed request (lifeboat request). Open it\n"+
		"with o (a file or its one-line form), check it and accept or reject it;\n"+
		"then the watcher (w) approves the sign-ups of its members."))
	return b.String()
}

func (s *admin) requestView() string {
	r := s.req
	var b strings.Builder
	b.WriteString(sHeading.Render(clip(safetext.Line("Admission request "+r.ID()+" to "+r.Server), s.w)) + "\n")
	var rows [][2]string
	if s.verr != nil {
		rows = append(rows, [2]string{"signature", sBad.Render("INVALID: " + safetext.Line(s.verr.Error()))})
	} else {
		rows = append(rows, [2]string{"signature", sGood.Render("valid") + ": signed by the key below; check it with the lead"})
	}
	rows = append(rows,
		[2]string{"fingerprint", r.Fingerprint()},
		// everything in a request comes from outside
		[2]string{"group", safetext.Line(fmt.Sprintf("%s (%s)", r.Group.Title, r.Group.Name))},
		[2]string{"lead", safetext.Line(fmt.Sprintf("%s <%s>", r.Lead.Name, r.Lead.Email))},
		[2]string{"size", s.sizeLine()},
		[2]string{"window", fmt.Sprintf("%s to %s (%s)", shortTime(r.Window.From), shortTime(r.Window.Until), windowState(r.Window, s.d.now()))},
	)
	if r.Message != "" {
		rows = append(rows, [2]string{"message", clip(safetext.Line(r.Message), max(s.w-14, 10))})
	}
	rows = append(rows, [2]string{"rules", fmt.Sprintf("the group accepts %d:", len(r.Rules))})
	var ruleRows, more [][2]string
	for i, rule := range r.Rules {
		ruleRows = append(ruleRows, [2]string{"", clip(fmt.Sprintf("%d. %s", i+1, safetext.Line(rule)), max(s.w-14, 10))})
	}
	switch {
	case s.scouting:
		more = append(more, [2]string{"rules now", "reading the server's current rules…"})
	case s.scoutErr != nil:
		more = append(more, [2]string{"rules now", clip("not checked: "+safetext.Line(s.scoutErr.Error()), max(s.w-14, 10))})
	case s.report != nil:
		missing := r.MissingRules(s.report.Rules)
		if len(missing) == 0 {
			more = append(more, [2]string{"rules now", fmt.Sprintf("the group accepted all %d of your current rules", len(s.report.Rules))})
		} else {
			more = append(more, [2]string{"rules now", sWarn.Render(fmt.Sprintf("%d of your current rules are not in the request:", len(missing)))})
			for _, m := range missing {
				more = append(more, [2]string{"", clip("- "+safetext.Line(m), max(s.w-13, 10))})
			}
		}
	}
	dec := "none yet"
	if d := s.dec; d != nil {
		dec = "rejected"
		if d.Accepted {
			dec = "accepted"
		}
		dec += " on " + shortTime(d.At)
		if d.Message != "" {
			dec += safetext.Line(fmt.Sprintf(" (%q)", d.Message))
		}
	}
	more = append(more, [2]string{"decision", dec})
	foot := ""
	switch {
	case s.ask == "accept" || s.ask == "reject":
		q := fmt.Sprintf("%s %s (%d members) on %s", capitalise(s.ask), safetext.Line(r.Group.Title), r.Size, safetext.Line(r.Server))
		if s.message != "" {
			q += safetext.Line(fmt.Sprintf(" with the message %q", s.message))
		}
		foot = "\n" + sWarn.Render(wrap(q+"? y/n", s.w))
	case s.decided != "":
		foot = "\n" + sGood.Render(wrap(safetext.Line(s.decided), s.w))
	case s.verr != nil:
		foot = "\n" + sBad.Render(wrap("This request does not verify: it cannot be accepted. Ask the lead to send it again.", s.w))
	}
	// the question and the decision always show: a long list of rules
	// gives way
	room := s.h - 1 - len(rows) - len(more) - strings.Count(foot, "\n") - 1
	if len(ruleRows) > room {
		n := max(room-1, 0)
		ruleRows = append(ruleRows[:n], [2]string{"", fmt.Sprintf("… %d more (a taller terminal shows them)", len(r.Rules)-n)})
	}
	rows = append(append(rows, ruleRows...), more...)
	b.WriteString(kv(rows) + "\n" + foot)
	return strings.TrimRight(b.String(), "\n")
}

func (s *admin) sizeLine() string {
	r := s.req
	size := fmt.Sprintf("%d members", r.Size)
	switch {
	case s.scouting:
		size += " (reading your server's active users…)"
	case s.report != nil && s.report.ActiveUsers > 0:
		a := s.report.ActiveUsers
		size += fmt.Sprintf(", %d%% of your %d active users", r.SharePercent(a), a)
	case s.report != nil:
		size += " (your server publishes no active users)"
	}
	return size
}

func (s *admin) watchView() string {
	var b strings.Builder
	state := "not running"
	switch {
	case s.watching && s.wMode == watchDry:
		state = "running, dry run: nothing is approved"
	case s.watching:
		state = "running: approving sign-ups with a valid proof"
	case s.wErr != "":
		state = "stopped"
	}
	server := s.wServer
	if server == "" {
		server = "(not chosen)"
	}
	b.WriteString(sHeading.Render("Admin: the watcher") + "\n")
	b.WriteString(kv([][2]string{{"server", safetext.Line(server)}, {"state", state}}) + "\n")
	if s.wMissing != "" {
		b.WriteString(sBad.Render(wrap("Missing: "+safetext.Line(s.wMissing), s.w)) + "\n")
	}
	if s.wMissing != "" && s.d.AdminToken != nil {
		b.WriteString(wrap("What to do: export LIFEBOAT_ADMIN_TOKEN (a token with admin:read:accounts and admin:write:accounts) "+
			"and restart, or give a token file that only you can read (chmod 600), then press u.", s.w) + "\n")
	} else if s.wErr != "" && s.wMissing == "" {
		b.WriteString(sBad.Render(clip("Error: "+safetext.Line(s.wErr), s.w)) + "\n")
	}
	if s.ask == "watch" {
		b.WriteString(sWarn.Render(wrap("Approve pending sign-ups on "+safetext.Line(s.wServer)+" that carry a valid proof, for real? y/n", s.w)) + "\n")
	}
	if s.ask == "stop" {
		b.WriteString(sWarn.Render("Stop the watcher? Sign-ups then wait for you. y/n") + "\n")
	}
	if len(s.wLog) == 0 && !s.watching {
		b.WriteString("\n" + sMuted.Render(wrap("Press u to watch your server's pending sign-ups: the watcher approves exactly "+
			"those whose reason carries a valid proof of an accepted group's member, and leaves every other sign-up for you. "+
			"A dry run only shows what it would do.", s.w)))
		return b.String()
	}
	b.WriteString(s.vp.View())
	return strings.TrimRight(b.String(), "\n")
}

func shortTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

func windowState(w admission.Window, now time.Time) string {
	switch {
	case now.Before(w.From):
		d := w.From.Sub(now)
		if d >= 48*time.Hour {
			return fmt.Sprintf("opens in %d days", int(d.Hours()/24))
		}
		return "opens in " + d.Round(time.Minute).String()
	case now.After(w.Until):
		return "ended"
	}
	return "open now"
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
