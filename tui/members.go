package tui

import (
	"context"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/safetext"
	"github.com/lifeboat-social/lifeboat/lead"
)

// The members view, reached from the pledges screen with m: the people
// who joined from the group's join page, with their handles and pledge,
// and what the lead decided about each. a approves, d declines, through
// the same code as lifeboat members review (web.Server.Decide), so the
// welcome or the one polite refusal is mailed once, journaled.

type (
	// joinsLoadedMsg is the people who joined (lead.Desk.Joins).
	joinsLoadedMsg struct {
		group string
		joins lead.Joins
		err   error
	}
	// joinDecidedMsg is the result of approving or declining a person.
	joinDecidedMsg struct {
		name, email string
		approve     bool
		err         error
	}
)

var (
	kMembers = key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "members who joined"))
	kApprove = key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "approve"))
	kDecline = key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "decline"))
	kBack    = key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back to pledges"))
)

// joinReview is the members view's state inside the pledges screen (the
// people are the screen's joins).
type joinReview struct {
	cur int
	// decision is the one asked about (decline is confirmed: it mails),
	// or waiting for the form asking where the group's pages are
	decision *joinDecidedMsg
	ask      bool
}

// loadJoins reads the people who joined g.
func loadJoins(d Deps, g *groups.Group) tea.Cmd {
	return func() tea.Msg {
		joins, err := fromDesk(d, func(ctx context.Context, desk *lead.Desk) (lead.Joins, error) { return desk.Joins(ctx, g) })
		return joinsLoadedMsg{group: g.Name, joins: joins, err: err}
	}
}

func (m *joinReview) keys() []key.Binding {
	if m.ask {
		return []key.Binding{kYes, kNo}
	}
	return []key.Binding{kUp, kDown, kApprove, kDecline, kReload, kBack}
}

// selected is the person under the cursor, nil when there is none.
func (s *pledges) selected() *campaign.Person {
	if s.joins == nil || s.members.cur >= len(s.joins.joins.People) {
		return nil
	}
	return &s.joins.joins.People[s.members.cur]
}

// updateMembers handles the keys while the members view is open.
func (s *pledges) updateMembers(msg tea.KeyMsg) (screen, tea.Cmd) {
	m := s.members
	if m.ask {
		m.ask = false
		if key.Matches(msg, kYes) {
			return s, s.decide()
		}
		name := m.decision.name
		m.decision = nil
		return s, status("%s not declined", name)
	}
	switch {
	case key.Matches(msg, kBack):
		s.members = nil
	case key.Matches(msg, kUp):
		m.cur = max(m.cur-1, 0)
	case key.Matches(msg, kDown):
		if s.joins != nil {
			m.cur = min(m.cur+1, max(len(s.joins.joins.People)-1, 0))
		}
	case key.Matches(msg, kReload):
		return s, loadJoins(s.d, s.group)
	case key.Matches(msg, kApprove), key.Matches(msg, kDecline):
		p := s.selected()
		if p == nil {
			return s, nil
		}
		approve := key.Matches(msg, kApprove)
		if s.d.Decide == nil {
			flag := "--decline"
			if approve {
				flag = "--approve"
			}
			return s, status("run: lifeboat members review %s %s %s", s.d.shortPath(s.path), flag, safetext.Line(p.Email))
		}
		m.decision = &joinDecidedMsg{name: safetext.Line(p.Name), email: p.Email, approve: approve}
		if !approve {
			m.ask = true
			return s, nil
		}
		return s, s.decide()
	}
	return s, nil
}

// decide sends the decision asked for, first asking where the group's
// pages are if the lead has not said yet: the mails link there.
func (s *pledges) decide() tea.Cmd {
	if s.baseURL == "" {
		return s.linksForm("Mail the decision to " + s.members.decision.name)
	}
	dm := *s.members.decision
	s.members.decision = nil
	decide, ctx, path, base := s.d.Decide, s.d.ctx, s.path, strings.TrimRight(strings.TrimSpace(s.baseURL), "/")
	return func() tea.Msg {
		dm.err = decide(ctx, path, base, dm.email, dm.approve)
		return dm
	}
}

// membersView renders the people who joined.
func (s *pledges) membersView() string {
	m := s.members
	var b strings.Builder
	b.WriteString(sHeading.Render("People who joined "+safetext.Line(s.group.Title)) + "\n\n")
	switch {
	case s.group.EnrolmentOrDefault() == groups.EnrolClosed:
		return b.String() + "The group's enrolment is closed: nobody joins from the join page."
	case s.joins == nil:
		return b.String() + "reading who joined…"
	case s.joins.err != nil:
		return b.String() + sBad.Render("cannot read who joined: "+safetext.Line(s.joins.err.Error()))
	case len(s.joins.joins.People) == 0:
		return b.String() + "Nobody has joined from the join page yet."
	}
	j := s.joins.joins
	b.WriteString(fmt.Sprintf("%d joined, %d %s for your decision\n\n", len(j.People), j.Waiting, plural(j.Waiting, "waits", "wait")))
	b.WriteString(sHeading.Render(fmt.Sprintf("  %-20s %-26s %-11s %s", "Name", "Email", "Approval", "Pledge")) + "\n")
	used := strings.Count(b.String(), "\n") + 4
	room := max(s.h-used, 2)
	first := max(0, m.cur-room+1)
	for i := first; i < len(j.People) && i < first+room; i++ {
		p := j.People[i]
		approval := p.Approval
		if lead.Waiting(p) {
			approval = sWarn.Render(fmt.Sprintf("%-11s", approval))
		} else {
			approval = fmt.Sprintf("%-11s", approval)
		}
		b.WriteString(selectLine(i == m.cur, fmt.Sprintf("%-20s %-26s ", clip(safetext.Line(p.Name), 20), clip(safetext.Line(p.Email), 26))) +
			approval + " " + p.Pledge + "\n")
	}
	if p := s.selected(); p != nil {
		confirmed := "no"
		if p.Confirmed {
			confirmed = "yes"
		}
		w := max(s.w-18, 20)
		b.WriteString("\n" + kv([][2]string{
			{"email confirmed", confirmed},
			{"handles", clip(safetext.Line(handlesOf(*p)), w)},
		}) + "\n")
	}
	if m.ask {
		b.WriteString("\n" + sWarn.Render(fmt.Sprintf("Decline %s? They get one polite mail. y/n", m.decision.name)) + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// handlesOf is the person's handles, or says they gave none.
func handlesOf(p campaign.Person) string {
	if h := lead.Handles(p); h != "" {
		return h
	}
	return "none given"
}
