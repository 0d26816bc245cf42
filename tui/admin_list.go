package tui

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/safetext"
	"github.com/lifeboat-social/lifeboat/provision/existing/admission"
)

// The admin screen's list of the requests the store knows.

// loadAdminList reads the requests the admin decided and the open group's
// own latest request, newest first.
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
