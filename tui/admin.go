package tui

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// The admin screen is where an existing server's admin reviews the
// group's admission request and watches approvals. The admission package
// and the lifeboat admin commands have not landed yet, so the screen says
// so and what to do meanwhile; it has no keys of its own.

type admin struct {
	d    Deps
	w, h int
}

func newAdmin(d Deps) *admin { return &admin{d: d} }

func (s *admin) Busy() bool          { return false }
func (s *admin) Keys() []key.Binding { return nil }

func (s *admin) Update(msg tea.Msg) (screen, tea.Cmd) {
	if m, ok := msg.(tea.WindowSizeMsg); ok {
		s.w, s.h = m.Width, m.Height
	}
	return s, nil
}

func (s *admin) View() string {
	return sHeading.Render("Admin: admission requests") + "\n\n" +
		"Reviewing admission requests is not available yet: it comes with the\n" +
		"existing-server destination (lifeboat admin).\n\n" +
		sMuted.Render("Meanwhile, send the admin of the server you want to join the group's\n"+
			"title, member count and the server address, and ask them to raise\n"+
			"the sign-up limits for the launch day.")
}
