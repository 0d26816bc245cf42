package tui

import (
	"fmt"
	"os"
	"strings"

	"github.com/charmbracelet/bubbles/progress"
	"github.com/charmbracelet/huh"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// Styles every screen shares. Nothing relies on colour alone: selections
// carry a "> " marker and states are words, so the screens read the same
// with NO_COLOR or on a monochrome terminal.
var (
	colAccent = lipgloss.AdaptiveColor{Light: "#1d4ed8", Dark: "#7aa2f7"}
	colMuted  = lipgloss.AdaptiveColor{Light: "#6b7280", Dark: "#9ca3af"}
	colGood   = lipgloss.AdaptiveColor{Light: "#15803d", Dark: "#9ece6a"}
	colBad    = lipgloss.AdaptiveColor{Light: "#b91c1c", Dark: "#f7768e"}
	colWarn   = lipgloss.AdaptiveColor{Light: "#a16207", Dark: "#e0af68"}

	sTitle    = lipgloss.NewStyle().Bold(true).Foreground(colAccent)
	sTab      = lipgloss.NewStyle().Foreground(colMuted)
	sTabOn    = lipgloss.NewStyle().Bold(true).Foreground(colAccent)
	sHeading  = lipgloss.NewStyle().Bold(true)
	sMuted    = lipgloss.NewStyle().Foreground(colMuted)
	sGood     = lipgloss.NewStyle().Foreground(colGood)
	sBad      = lipgloss.NewStyle().Foreground(colBad)
	sWarn     = lipgloss.NewStyle().Foreground(colWarn)
	sSelected = lipgloss.NewStyle().Bold(true).Foreground(colAccent)
	sBox      = lipgloss.NewStyle().Border(lipgloss.NormalBorder()).BorderForeground(colWarn).Padding(0, 1)
	sStatus   = lipgloss.NewStyle().Foreground(colMuted)
)

// ApplyNoColor turns colour off for the whole program when NO_COLOR is
// set (https://no-color.org), whatever the terminal says it can do.
func ApplyNoColor() {
	if os.Getenv("NO_COLOR") != "" {
		lipgloss.SetColorProfile(termenv.Ascii)
	}
}

// bar is a static progress bar of width w: no animation, so a frame is
// the same however fast events come (and golden files are stable).
func bar(w int, done, total int) string {
	p := progress.New(progress.WithSolidFill(string(colAccent.Dark)), progress.WithoutPercentage(),
		progress.WithFillCharacters('#', '.'))
	p.Width = max(w, 4)
	pct := 0.0
	if total > 0 {
		pct = min(float64(done)/float64(total), 1)
	}
	return p.ViewAs(pct)
}

// selectLine renders a list line with the selection marker.
func selectLine(on bool, s string) string {
	if on {
		return sSelected.Render("> " + s)
	}
	return "  " + s
}

// clip cuts s to w cells, marking the cut.
func clip(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if lipgloss.Width(s) <= w {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && lipgloss.Width(string(r))+1 > w {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}

// kv renders "key  value" rows with the keys aligned.
func kv(rows [][2]string) string {
	w := 0
	for _, r := range rows {
		w = max(w, lipgloss.Width(r[0]))
	}
	var b strings.Builder
	for i, r := range rows {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s  %s", sMuted.Render(r[0]+strings.Repeat(" ", w-lipgloss.Width(r[0]))), r[1])
	}
	return b.String()
}

// formTheme is huh's base theme: it follows the terminal's colour profile
// like the rest of the UI.
func formTheme() *huh.Theme { return huh.ThemeBase() }

// plural picks a word for n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// clipLeft cuts s to w cells from the left, for paths: the end matters.
func clipLeft(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if lipgloss.Width(s) <= w {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && lipgloss.Width(string(r))+1 > w {
		r = r[1:]
	}
	return "…" + string(r)
}
