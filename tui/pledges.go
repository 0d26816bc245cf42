package tui

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"

	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/escape/pledge"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/safetext"
	"github.com/lifeboat-social/lifeboat/lead"
)

// The pledges screen: live numbers from the store (pledged, who would go
// now by the threshold cascade, progress toward viable mass, the
// deadline's countdown), opening the pledges and launching.

type (
	// pledgesLoadedMsg is the campaign's standing (campaign.Read).
	pledgesLoadedMsg struct {
		group  string
		status campaign.Status
		err    error
	}
	// pledgesTickMsg asks for a refresh.
	pledgesTickMsg struct{ group string }
	// pledgesOpenedMsg is the result of mailing the pledge links, or of
	// exporting them (csv set).
	pledgesOpenedMsg struct {
		n          int
		csv, sheet string
		err        error
	}
	// admissionMsg is the lead's warning when an existing server's
	// accepted request no longer admits the roster ("" when it does).
	admissionMsg struct {
		group string
		note  string
		err   error
	}
	// readinessMsg is the domain's answer to "may the group launch onto
	// its destination now".
	readinessMsg struct {
		group string
		r     campaign.Readiness
		err   error
	}
)

const pledgesRefresh = 2 * time.Second

type pledges struct {
	d       Deps
	group   *groups.Group
	path    string
	loaded  *pledgesLoadedMsg
	w, h    int
	ask     bool // confirm launch
	ticking bool
	// the form asking where the group's pages are, for the pledge links,
	// and for an export where the files go
	form            *huh.Form
	export          bool // the form is the export's
	baseURL         string
	csvPath, sheetP string
	ready           *readinessMsg
	admission       *admissionMsg
	// joins is who joined from the join page, read with the numbers
	// unless the group's enrolment is closed
	joins *joinsLoadedMsg
	// members is the members view (m), nil when closed
	members *joinReview
}

// checkReady asks the destination whether it is ready; not on every
// refresh: it may be a request to a server.
func checkReady(d Deps, g *groups.Group, path string) tea.Cmd {
	if d.Readiness == nil {
		return nil
	}
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(d.ctx, 20*time.Second)
		defer cancel()
		r, err := d.Readiness(ctx, g, path)
		return readinessMsg{group: g.Name, r: r, err: err}
	}
}

func newPledges(d Deps) *pledges { return &pledges{d: d} }

func (s *pledges) Busy() bool { return s.ask || s.form != nil || s.members != nil }

func (s *pledges) Keys() []key.Binding {
	if s.form != nil {
		return s.form.KeyBinds()
	}
	if s.members != nil {
		return s.members.keys()
	}
	if s.ask {
		return []key.Binding{kYes, kNo}
	}
	if s.group != nil && s.group.Destination.Type == groups.DestLocal {
		// a local group launches only in lifeboat demo
		return []key.Binding{kOpenP, kExportP, kMembers, kReload}
	}
	return []key.Binding{kOpenP, kExportP, kMembers, kLaunch, kReload}
}

// loadPledges reads the campaign's standing.
func loadPledges(d Deps, g *groups.Group) tea.Cmd {
	return func() tea.Msg {
		s, err := fromDesk(d, func(ctx context.Context, desk *lead.Desk) (campaign.Status, error) { return desk.Pledges(ctx, g) })
		return pledgesLoadedMsg{group: g.Name, status: s, err: err}
	}
}

// loadAdmission reads whether an existing server's accepted request
// still admits the roster.
func loadAdmission(d Deps, g *groups.Group, path string) tea.Cmd {
	return func() tea.Msg {
		note, err := fromDesk(d, func(ctx context.Context, desk *lead.Desk) (string, error) { return desk.AdmissionNote(ctx, g, path) })
		return admissionMsg{group: g.Name, note: note, err: err}
	}
}

// load reads the numbers and, when the group takes joins, who joined and
// (on an existing server) whether its admission still covers them.
func (s *pledges) load() tea.Cmd {
	if s.group.EnrolmentOrDefault() == groups.EnrolClosed {
		return loadPledges(s.d, s.group)
	}
	cmds := []tea.Cmd{loadPledges(s.d, s.group), loadJoins(s.d, s.group)}
	if s.group.Destination.Type == groups.DestExisting {
		cmds = append(cmds, loadAdmission(s.d, s.group, s.path))
	}
	return tea.Batch(cmds...)
}

func (s *pledges) tick() tea.Cmd {
	name := s.group.Name
	return tea.Tick(pledgesRefresh, func(time.Time) tea.Msg { return pledgesTickMsg{name} })
}

func (s *pledges) Update(msg tea.Msg) (screen, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		s.w, s.h = msg.Width, msg.Height
	case groupLoadedMsg:
		if msg.group != nil {
			s.group, s.path = msg.group, msg.path
			if s.loaded != nil && s.loaded.group != msg.group.Name {
				s.loaded = nil
			}
			s.ready = nil
			s.joins = nil
			return s, tea.Batch(s.load(), checkReady(s.d, msg.group, msg.path))
		}
	case enteredMsg:
		if msg.id == pledgesScreen && s.group != nil {
			cmds := []tea.Cmd{s.load(), checkReady(s.d, s.group, s.path)}
			if !s.ticking {
				s.ticking = true
				cmds = append(cmds, s.tick())
			}
			return s, tea.Batch(cmds...)
		}
	case pledgesTickMsg:
		// refresh while a group is open; the tick is cheap (one query)
		if s.group != nil && msg.group == s.group.Name {
			return s, tea.Batch(s.load(), s.tick())
		}
		s.ticking = false
	case pledgesLoadedMsg:
		if s.group != nil && msg.group == s.group.Name {
			s.loaded = &msg
		}
	case joinsLoadedMsg:
		if s.group != nil && msg.group == s.group.Name {
			s.joins = &msg
			if s.members != nil {
				s.members.cur = min(s.members.cur, max(len(msg.joins.People)-1, 0))
			}
		}
	case joinDecidedMsg:
		cmds := []tea.Cmd{s.load()}
		switch {
		case msg.err != nil:
			cmds = append(cmds, status("%s: %v", safetext.Line(msg.email), msg.err))
		case msg.approve:
			cmds = append(cmds, status("approved %s: they are a member and get their pledge link", msg.name))
		default:
			cmds = append(cmds, status("declined %s: they get one polite mail", msg.name))
		}
		return s, tea.Batch(cmds...)
	case readinessMsg:
		if s.group != nil && msg.group == s.group.Name {
			s.ready = &msg
		}
	case admissionMsg:
		if s.group != nil && msg.group == s.group.Name {
			s.admission = &msg
		}
	case pledgesOpenedMsg:
		switch {
		case msg.err != nil:
			return s, status("pledge links: %v", msg.err)
		case msg.csv != "":
			return s, status("wrote %d pledge %s to %s and %s (readable only by you; hand each to its member)",
				msg.n, plural(msg.n, "link", "links"), s.d.shortPath(msg.csv), s.d.shortPath(msg.sheet))
		}
		return s, status("sent %d pledge %s", msg.n, plural(msg.n, "link", "links"))
	case DoneMsg:
		if s.group != nil {
			return s, s.load()
		}
	case tea.KeyMsg:
		if s.group == nil {
			return s, nil
		}
		if s.form != nil {
			return s.updateForm(msg)
		}
		if s.members != nil {
			return s.updateMembers(msg)
		}
		if s.ask {
			s.ask = false
			if key.Matches(msg, kYes) {
				return s, func() tea.Msg { return startJobMsg{kind: jobLaunch} }
			}
			return s, status("not launched")
		}
		switch {
		case key.Matches(msg, kOpenP):
			if s.d.OpenPledges == nil {
				return s, status("to mail the pledge links run: lifeboat pledges open %s --base-url …", s.d.shortPath(s.path))
			}
			s.export = false
			return s, s.linksForm("Mail every member their pledge link")
		case key.Matches(msg, kExportP):
			if s.d.ExportPledges == nil {
				return s, status("to export the pledge links run: lifeboat pledges export %s --base-url … --csv F --sheet F.html", s.d.shortPath(s.path))
			}
			s.export = true
			// the links work for whoever holds them: by default in the
			// group's state directory, not beside a group file that may be
			// shared
			base := strings.TrimSuffix(s.path, filepath.Ext(s.path)) + "-pledge-links"
			if s.d.Desk != nil && s.d.Desk.StateDir != "" {
				base = s.d.Desk.GroupPath(s.group.Name, "pledge-links")
			}
			if s.csvPath == "" {
				s.csvPath, s.sheetP = base+".csv", base+".html"
			}
			return s, s.linksForm("Export the pledge links, for a lead without a mail relay",
				huh.NewInput().Title("CSV file (name, email, link, expires)").Value(&s.csvPath).Validate(nonEmpty("a file name")),
				huh.NewInput().Title("Printable sheet, a QR code per member (HTML)").Value(&s.sheetP).Validate(nonEmpty("a file name")))
		case key.Matches(msg, kMembers):
			s.members = &joinReview{}
			return s, s.load()
		case key.Matches(msg, kLaunch):
			if s.group.Destination.Type == groups.DestLocal {
				return s, status("%s", localIsDemo(s.d.shortPath(s.path)))
			}
			s.ask = true
		case key.Matches(msg, kReload):
			return s, tea.Batch(s.load(), checkReady(s.d, s.group, s.path))
		}
	default:
		if s.form != nil {
			return s.updateForm(msg)
		}
	}
	return s, nil
}

func (s *pledges) updateForm(msg tea.Msg) (screen, tea.Cmd) {
	m, cmd := s.form.Update(msg)
	s.form = m.(*huh.Form)
	switch s.form.State {
	case huh.StateAborted:
		s.form = nil
		if s.members != nil && s.members.decision != nil {
			name := s.members.decision.name
			s.members.decision = nil
			return s, status("nothing decided for %s", name)
		}
		if s.export {
			return s, status("no pledge links exported")
		}
		return s, status("no pledge links sent")
	case huh.StateCompleted:
		s.form = nil
		if s.members != nil && s.members.decision != nil {
			return s, s.decide()
		}
		path, base, ctx := s.path, strings.TrimRight(strings.TrimSpace(s.baseURL), "/"), s.d.ctx
		if s.export {
			csv, sheet, export := s.d.absPath(s.csvPath), s.d.absPath(s.sheetP), s.d.ExportPledges
			return s, func() tea.Msg {
				n, err := export(ctx, path, base, csv, sheet)
				return pledgesOpenedMsg{n: n, csv: csv, sheet: sheet, err: err}
			}
		}
		open := s.d.OpenPledges
		return s, func() tea.Msg {
			n, err := open(ctx, path, base)
			return pledgesOpenedMsg{n: n, err: err}
		}
	}
	return s, cmd
}

// linksForm asks where the group's pages are (the links point there),
// then the extra fields.
func (s *pledges) linksForm(title string, extra ...huh.Field) tea.Cmd {
	fields := append([]huh.Field{
		huh.NewInput().Title("Public URL of the group's pages (where lifeboat serve runs)").
			Placeholder("https://lifeboat.example.org").Value(&s.baseURL).Validate(func(v string) error {
			if !strings.HasPrefix(v, "https://") && !strings.HasPrefix(v, "http://") {
				return errors.New("an https:// address")
			}
			return nil
		}),
	}, extra...)
	s.form = huh.NewForm(huh.NewGroup(fields...).Title(title)).WithTheme(formTheme()).WithKeyMap(formKeys()).
		WithShowHelp(false).WithWidth(min(max(s.w, 40), 76))
	return s.form.Init()
}

func (s *pledges) View() string {
	if s.form != nil {
		return s.form.View()
	}
	if s.group == nil {
		return "No group open."
	}
	if s.members != nil {
		return s.membersView()
	}
	g := s.group
	var b strings.Builder
	b.WriteString(sHeading.Render("Pledges for "+safetext.Line(g.Title)) + "\n\n")
	l := s.loaded
	if l == nil {
		b.WriteString("reading the pledges…\n")
		return b.String()
	}
	if l.err != nil {
		b.WriteString(sBad.Render("cannot read the pledges: "+safetext.Line(l.err.Error())) + "\n")
	}
	o := l.status.Outlook
	state := l.status.State
	if state == "" {
		state = "not opened yet"
	}
	rows := [][2]string{
		{"state", state},
		{"enrolled", fmt.Sprintf("%d (%d confirmed their email)", l.status.Enrolled, l.status.Confirmed)},
	}
	if j := s.joins; j != nil && j.err == nil && j.joins.Waiting > 0 {
		rows = append(rows, [2]string{"joined", fmt.Sprintf("%d from the join page, %d %s for your decision (m)",
			len(j.joins.People), j.joins.Waiting, plural(j.joins.Waiting, "waits", "wait"))})
	}
	rows = append(rows, [][2]string{
		{"pledged", fmt.Sprintf("%d of %d members (%d unconfirmed, %d withdrawn)", o.Pledged, o.Members, l.status.Unconfirmed, l.status.Withdrawn)},
		{"would go now", fmt.Sprintf("%d (the cascade: %s)", o.Going, o.String())},
		{"viable mass", fmt.Sprintf("%d", g.ViableMass)},
		{"deadline", s.countdown()},
	}...)
	if r := s.ready; r != nil {
		switch {
		case r.err != nil:
			// the error and what is missing may quote the server
			rows = append(rows, [2]string{"destination", "cannot tell: " + safetext.Line(r.err.Error())})
		case r.r.Ready:
			rows = append(rows, [2]string{"destination", "ready"})
		default:
			rows = append(rows, [2]string{"destination", "not ready: " + safetext.Line(r.r.Missing)})
		}
	}
	if a := s.admission; a != nil && a.err != nil {
		rows = append(rows, [2]string{"admission", "cannot tell: " + safetext.Line(a.err.Error())})
	}
	b.WriteString(kv(rows) + "\n\n")
	bw := min(s.w-24, 50)
	b.WriteString(fmt.Sprintf("toward viable mass  %s %d/%d\n", bar(bw, o.Going, g.ViableMass), o.Going, g.ViableMass))
	b.WriteString(fmt.Sprintf("pledged             %s %d/%d\n\n", bar(bw, o.Pledged, o.Members), o.Pledged, o.Members))
	switch {
	case o.Viable && s.ready != nil && !s.ready.r.Ready:
		b.WriteString(sWarn.Render("Viable, but it launches only once the destination is ready (see above).") + "\n")
	case o.Viable && g.Destination.Type == groups.DestLocal:
		b.WriteString(sGood.Render("Viable. The local destination is for trying: lifeboat demo runs it.") + "\n")
	case o.Viable:
		b.WriteString(sGood.Render("Viable: the group can launch now (L).") + "\n")
	case o.NeedForViable > 0:
		b.WriteString(sWarn.Render(fmt.Sprintf("%d more unconditional %s would make it viable.", o.NeedForViable, plural(o.NeedForViable, "pledge", "pledges"))) + "\n")
	default:
		b.WriteString(sBad.Render("Not viable even if everyone left pledged: lower viable_mass or add members.") + "\n")
	}
	if a := s.admission; a != nil && a.note != "" {
		// wrapped: the note ends with the command that mends it
		b.WriteString("\n" + sWarn.Width(max(s.w, 40)).Render("Admission: "+safetext.Line(a.note)) + "\n")
	}
	if s.ask {
		b.WriteString("\n" + sWarn.Render(s.launchQuestion(o)) + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

func (s *pledges) launchQuestion(o pledge.Outlook) string {
	return fmt.Sprintf("Launch now? The %d members who would go get their invites. y/n", o.Going)
}

// countdown is the time left to the deadline, in days and hours.
func (s *pledges) countdown() string {
	dl := s.group.Deadline
	if dl == nil {
		return "none"
	}
	left := dl.Sub(s.d.now())
	date := dl.Format("2006-01-02")
	if left <= 0 {
		return date + " (passed)"
	}
	days := int(left.Hours()) / 24
	hours := int(left.Hours()) % 24
	return fmt.Sprintf("%s (%d %s %d %s left)", date, days, plural(days, "day", "days"), hours, plural(hours, "hour", "hours"))
}
