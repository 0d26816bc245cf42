package tui

import (
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/huh"
)

// globalKeys work on every screen unless a form has the keyboard.
type globalKeys struct {
	Quit, ForceQuit, Home, Next, Prev, Help key.Binding
	Screens                                 []key.Binding // 1..7: the group's screens
}

func newGlobalKeys() globalKeys {
	return globalKeys{
		Quit:      key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
		ForceQuit: key.NewBinding(key.WithKeys("ctrl+c")),
		Home:      key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "home")),
		Next:      key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next screen")),
		Prev:      key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous")),
		Help:      key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "more keys")),
		Screens: []key.Binding{
			key.NewBinding(key.WithKeys("1"), key.WithHelp("1-7", "screens")),
			key.NewBinding(key.WithKeys("2")),
			key.NewBinding(key.WithKeys("3")),
			key.NewBinding(key.WithKeys("4")),
			key.NewBinding(key.WithKeys("5")),
			key.NewBinding(key.WithKeys("6")),
			key.NewBinding(key.WithKeys("7")),
		},
	}
}

// Screen keys, shared so the same letter means the same thing everywhere.
var (
	kUp      = key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up"))
	kDown    = key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down"))
	kEnter   = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open"))
	kYes     = key.NewBinding(key.WithKeys("y", "Y"), key.WithHelp("y", "yes"))
	kNo      = key.NewBinding(key.WithKeys("n", "N", "esc"), key.WithHelp("n", "no"))
	kNew     = key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "new group"))
	kCheck   = key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "check"))
	kOpenF   = key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "open file"))
	kEdit    = key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "edit"))
	kAdd     = key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "add member"))
	kRemove  = key.NewBinding(key.WithKeys("d", "x"), key.WithHelp("d", "remove member"))
	kReload  = key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "reload"))
	kOpenP   = key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "open pledges"))
	kExportP = key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "export links"))
	kLaunch  = key.NewBinding(key.WithKeys("L"), key.WithHelp("L", "launch"))
	kChoose  = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "choose"))
	kPrices  = key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "prices"))
	kUpStart = key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "start"))
	kCancel  = key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "cancel"))
	kRetry   = key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "retry member"))
)

// formKeys are huh's default keys with esc to cancel the form (ctrl+c
// stays with the program: it quits).
func formKeys() *huh.KeyMap {
	km := huh.NewDefaultKeyMap()
	km.Quit = key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel"))
	return km
}
