package tui

import (
	"errors"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/safetext"
)

// The group screen: what the group file says, its problems with their
// line numbers, and forms to edit the basics and the members. Every edit
// is saved at once, through the YAML node tree (groupfile.go).

// groupView's messages are groupLoadedMsg (root) and the forms' own.

type groupView struct {
	d      Deps
	path   string
	data   []byte
	group  *groups.Group
	probs  groups.Problems
	err    error
	w, h   int
	cur    int // selected member
	form   *huh.Form
	formOf string // "basics" | "member"
	ask    string // email of the member to remove, asking y/n
	b      groups.Basics
	nm     groups.Member
}

func newGroupView(d Deps) *groupView { return &groupView{d: d} }

func (s *groupView) Busy() bool { return s.form != nil || s.ask != "" }

func (s *groupView) Keys() []key.Binding {
	switch {
	case s.form != nil:
		return s.form.KeyBinds()
	case s.ask != "":
		return []key.Binding{kYes, kNo}
	}
	return []key.Binding{kUp, kDown, kEdit, kAdd, kRemove, kReload}
}

// members is what the screen lists: the parsed group's, or nothing when
// the file has problems (they are listed instead).
func (s *groupView) members() []groups.Member {
	if s.group == nil {
		return nil
	}
	return s.group.Members
}

func (s *groupView) Update(msg tea.Msg) (screen, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		s.w, s.h = msg.Width, msg.Height
	case groupLoadedMsg:
		if msg.err != nil {
			s.err = msg.err
			return s, nil
		}
		s.path, s.data, s.group, s.probs, s.err = msg.path, msg.data, msg.group, msg.probs, nil
		s.cur = min(s.cur, max(len(s.members())-1, 0))
	case tea.KeyMsg:
		if s.form != nil {
			return s.updateForm(msg)
		}
		if s.ask != "" {
			email := s.ask
			s.ask = ""
			if key.Matches(msg, kYes) {
				return s, saveGroup(s.d, s.path, s.data, groups.EditRemoveMember(email), "removed "+email)
			}
			return s, nil
		}
		if s.path == "" {
			return s, nil
		}
		ms := s.members()
		switch {
		case key.Matches(msg, kUp):
			s.cur = max(s.cur-1, 0)
		case key.Matches(msg, kDown):
			s.cur = min(s.cur+1, max(len(ms)-1, 0))
		case key.Matches(msg, kEdit):
			if s.group == nil {
				return s, status("the file has problems the form cannot show; fix them in an editor (lines above)")
			}
			return s, s.basicsForm()
		case key.Matches(msg, kAdd):
			return s, s.memberForm()
		case key.Matches(msg, kRemove):
			if s.cur < len(ms) {
				s.ask = ms[s.cur].Email
			}
		case key.Matches(msg, kReload):
			return s, loadGroup(s.d, s.path, "reloaded")
		}
	default:
		if s.form != nil {
			return s.updateForm(msg)
		}
	}
	return s, nil
}

func (s *groupView) basicsForm() tea.Cmd {
	g := s.group
	s.b = groups.Basics{Title: g.Title, Description: g.Description, ViableMass: fmt.Sprint(g.ViableMass),
		LeadName: g.Lead.Name, LeadEmail: g.Lead.Email}
	if g.Deadline != nil {
		s.b.Deadline = g.Deadline.Format("2006-01-02")
	}
	s.formOf = "basics"
	s.form = huh.NewForm(huh.NewGroup(
		huh.NewInput().Title("Title").Value(&s.b.Title).Validate(nonEmpty("a title")),
		huh.NewInput().Title("Description").Value(&s.b.Description),
		huh.NewInput().Title("Viable mass (pledges needed)").Value(&s.b.ViableMass).Validate(isNumber),
		huh.NewInput().Title("Deadline (YYYY-MM-DD, empty for none)").Value(&s.b.Deadline),
		huh.NewInput().Title("Lead's name").Value(&s.b.LeadName).Validate(nonEmpty("a name")),
		huh.NewInput().Title("Lead's email").Value(&s.b.LeadEmail).Validate(nonEmpty("an email")),
	).Title("Edit " + g.Name)).WithTheme(formTheme()).WithKeyMap(formKeys()).WithShowHelp(false).WithWidth(min(s.w, 72))
	return s.form.Init()
}

func (s *groupView) memberForm() tea.Cmd {
	s.nm = groups.Member{}
	s.formOf = "member"
	s.form = huh.NewForm(huh.NewGroup(
		huh.NewInput().Title("Name").Value(&s.nm.Name).Validate(nonEmpty("a name")),
		huh.NewInput().Title("Email").Value(&s.nm.Email).Validate(func(v string) error {
			if !strings.Contains(v, "@") {
				return errors.New("an email address")
			}
			if s.group != nil {
				if _, dup := s.group.Member(v); dup {
					return errors.New("already a member")
				}
			}
			return nil
		}),
		huh.NewInput().Title("Old handle (optional)").Placeholder("@name").Value(&s.nm.Handle),
		huh.NewInput().Title("Wanted username (optional)").Value(&s.nm.Username),
	).Title("Add a member")).WithTheme(formTheme()).WithKeyMap(formKeys()).WithShowHelp(false).WithWidth(min(s.w, 72))
	return s.form.Init()
}

func (s *groupView) updateForm(msg tea.Msg) (screen, tea.Cmd) {
	m, cmd := s.form.Update(msg)
	s.form = m.(*huh.Form)
	switch s.form.State {
	case huh.StateAborted:
		s.form = nil
		return s, status("not changed")
	case huh.StateCompleted:
		s.form = nil
		if s.formOf == "basics" {
			b := s.b
			b.ViableMass = strings.TrimSpace(b.ViableMass)
			return s, saveGroup(s.d, s.path, s.data, groups.EditBasics(b), "saved")
		}
		nm := s.nm
		return s, saveGroup(s.d, s.path, s.data, groups.EditAddMember(nm), "added "+nm.Email)
	}
	return s, cmd
}

func (s *groupView) View() string {
	if s.form != nil {
		return s.form.View()
	}
	var b strings.Builder
	if s.err != nil {
		b.WriteString(sBad.Render(safetext.Line("cannot open "+s.path+": "+s.err.Error())) + "\n")
		return b.String()
	}
	if s.path == "" {
		return "No group open: press esc for the home screen."
	}
	g := s.group
	if g != nil {
		b.WriteString(sHeading.Render(safetext.Line(g.Title)) + sMuted.Render("  ("+safetext.Line(g.Name)+")") + "\n")
		if g.Description != "" {
			b.WriteString(clip(safetext.Line(g.Description), s.w) + "\n")
		}
		deadline := "none"
		if g.Deadline != nil {
			deadline = g.Deadline.Format("2006-01-02")
		}
		b.WriteString(kv([][2]string{
			{"file", s.d.shortPath(s.path)},
			{"members", fmt.Sprintf("%d (viable mass %d)", len(g.Members), g.ViableMass)},
			{"deadline", deadline},
			{"lead", safetext.Line(g.Lead.Name + " <" + g.Lead.Email + ">")},
			{"destination", destSummary(g.Destination)},
		}) + "\n")
	} else {
		b.WriteString(sHeading.Render(s.d.shortPath(s.path)) + "\n")
	}
	if len(s.probs) > 0 {
		b.WriteString(sBad.Render(fmt.Sprintf("%d %s:", len(s.probs), plural(len(s.probs), "problem", "problems"))) + "\n")
		room := max(s.h-8, 2)
		for i, p := range s.probs {
			if i == room {
				b.WriteString(sMuted.Render(fmt.Sprintf("  … and %d more (lifeboat check %s)", len(s.probs)-room, s.d.shortPath(s.path))) + "\n")
				break
			}
			b.WriteString(clip(fmt.Sprintf("  line %d:%d: %s", p.Line, p.Col, safetext.Line(p.Msg)), s.w) + "\n")
		}
	}
	if s.ask != "" {
		b.WriteString("\n" + sWarn.Render("Remove "+safetext.Line(s.ask)+" from the group file? y/n") + "\n")
	}
	ms := s.members()
	if len(ms) > 0 {
		b.WriteString("\n" + sHeading.Render(fmt.Sprintf("  %-22s %-28s %s", "Member", "Email", "Handle")) + "\n")
		used := strings.Count(b.String(), "\n")
		room := max(s.h-used, 2)
		first := max(0, s.cur-room+1)
		for i := first; i < len(ms) && i < first+room; i++ {
			m := ms[i]
			b.WriteString(selectLine(i == s.cur, fmt.Sprintf("%-22s %-28s %s", clip(safetext.Line(m.Name), 22), clip(safetext.Line(m.Email), 28), safetext.Line(m.Handle))) + "\n")
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// destSummary says where the group goes in a few words.
func destSummary(d groups.Destination) string {
	switch d.Type {
	case groups.DestLocal:
		return "local " + d.SoftwareOrDefault() + " on this machine"
	case groups.DestExisting:
		return "existing server " + d.Server
	case groups.DestNew:
		return fmt.Sprintf("new %s server %s on %s (%s, %s)", d.SoftwareOrDefault(), d.Domain, d.Cloud, d.Location, d.ServerType)
	}
	return "not chosen"
}
