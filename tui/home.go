package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/safetext"
)

// The home screen: the groups the state directory knows and the files
// opened lately; open one, check one, or create a new group file.

type (
	// homeLoadedMsg lists what the home screen shows.
	homeLoadedMsg struct {
		items []homeItem
		err   error
	}
	// checkedMsg is the result of checking one file.
	checkedMsg struct {
		path  string
		probs groups.Problems
		err   error
	}
)

// homeItem is one group or file on the home screen.
type homeItem struct {
	Name, Title, State, File string
}

type home struct {
	d      Deps
	items  []homeItem
	cur    int
	err    error
	w, h   int
	form   *huh.Form
	formOf string // "new" | "open"
	check  *checkedMsg
	nf     newGroupFields
	path   string
}

type newGroupFields struct {
	File, Name, Title, LeadName, LeadEmail, ViableMass string
}

func newHome(d Deps) *home { return &home{d: d} }

const recentFile = "tui-recent"

// loadHome reads the known groups and the recent files.
func loadHome(d Deps) tea.Cmd {
	return func() tea.Msg {
		var items []homeItem
		seen := map[string]bool{}
		if d.Desk != nil {
			ctx, cancel := context.WithTimeout(d.ctx, 5*time.Second)
			defer cancel()
			gs, err := d.Desk.Groups(ctx)
			if err != nil {
				return homeLoadedMsg{err: err}
			}
			for _, g := range gs {
				items = append(items, homeItem{Name: g.Name, Title: g.Title, State: g.State, File: g.File})
				if g.File != "" {
					seen[g.File] = true
				}
			}
		}
		for _, f := range readRecent(d.StateDir) {
			if !seen[f] {
				seen[f] = true
				items = append(items, homeItem{Name: filepath.Base(f), File: f, State: "file"})
			}
		}
		return homeLoadedMsg{items: items}
	}
}

func readRecent(dir string) []string {
	if dir == "" {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(dir, recentFile))
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// rememberRecent puts path first in the recent files (ten at most).
func rememberRecent(dir, path string) {
	if dir == "" {
		return
	}
	list := []string{path}
	for _, f := range readRecent(dir) {
		if f != path && len(list) < 10 {
			list = append(list, f)
		}
	}
	if os.MkdirAll(dir, 0o700) == nil {
		writeAtomic(filepath.Join(dir, recentFile), []byte(strings.Join(list, "\n")+"\n"))
	}
}

// rememberInStore records the group and its file in the store, keeping
// its state, so the home screen lists it next time.
func rememberInStore(d Deps, msg groupLoadedMsg) {
	if d.Desk == nil || msg.group == nil {
		return
	}
	ctx, cancel := context.WithTimeout(d.ctx, 5*time.Second)
	defer cancel()
	d.Desk.Remember(ctx, msg.group, msg.path)
}

// checkFile checks one group file.
func checkFile(path string) tea.Cmd {
	return func() tea.Msg {
		data, err := os.ReadFile(path)
		if err != nil {
			return checkedMsg{path: path, err: err}
		}
		_, probs := groups.Parse(path, data)
		return checkedMsg{path: path, probs: probs}
	}
}

// createGroup writes a new group file, refusing to overwrite one.
func createGroup(d Deps, f newGroupFields) tea.Cmd {
	return func() tea.Msg {
		path := f.File
		if _, err := os.Stat(path); err == nil {
			return statusMsg("not created: " + path + " exists; open it instead")
		}
		if err := writeAtomic(path, []byte(starterFile(f))); err != nil {
			return statusMsg("not created: " + err.Error())
		}
		return loadGroup(d, path, "created "+path)()
	}
}

// starterFile is a new group file: the lead is the first member.
func starterFile(f newGroupFields) string {
	return fmt.Sprintf(`# %s: a breakout group for Lifeboat.
# Check it with: lifeboat check %s
version: 1
name: %s
title: %s
viable_mass: %s   # pledges needed to launch
lead:
  name: %s
  email: %s
destination:
  type: local     # local | existing | new
  software: gotosocial
members:
  - name: %s
    email: %s
`, f.Title, filepath.Base(f.File), f.Name, yamlQuote(f.Title), f.ViableMass, yamlQuote(f.LeadName), yamlQuote(f.LeadEmail),
		yamlQuote(f.LeadName), yamlQuote(f.LeadEmail))
}

func yamlQuote(s string) string { return strconv.Quote(s) }

func (s *home) Busy() bool { return s.form != nil }

func (s *home) Keys() []key.Binding {
	if s.form != nil {
		return s.form.KeyBinds()
	}
	return []key.Binding{kUp, kDown, kEnter, kCheck, kNew, kOpenF, kAdmin, kAnalyzeHome}
}

// kAdmin opens the admin screen from home: a server's admin has no group
// file to open first.
var kAdmin = key.NewBinding(key.WithKeys("A"), key.WithHelp("A", "admin"))

func (s *home) selected() (homeItem, bool) {
	if s.cur < len(s.items) {
		return s.items[s.cur], true
	}
	return homeItem{}, false
}

func (s *home) Update(msg tea.Msg) (screen, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		s.w, s.h = msg.Width, msg.Height
	case homeLoadedMsg:
		s.items, s.err = msg.items, msg.err
		s.cur = min(s.cur, max(len(s.items)-1, 0))
	case groupLoadedMsg:
		s.path = msg.path
	case checkedMsg:
		s.check = &msg
	case tea.KeyMsg:
		if s.form != nil {
			return s.updateForm(msg)
		}
		switch {
		case key.Matches(msg, kUp):
			s.cur = max(s.cur-1, 0)
		case key.Matches(msg, kDown):
			s.cur = min(s.cur+1, max(len(s.items)-1, 0))
		case key.Matches(msg, kEnter):
			if it, ok := s.selected(); ok {
				if it.File == "" {
					return s, status("%s has no group file on record; open its file with o", it.Name)
				}
				return s, func() tea.Msg { return openMsg{it.File} }
			}
		case key.Matches(msg, kAdmin):
			return s, func() tea.Msg { return switchMsg{adminScreen} }
		case key.Matches(msg, kAnalyzeHome):
			return s, func() tea.Msg { return switchMsg{analyzeScreen} }
		case key.Matches(msg, kCheck):
			if it, ok := s.selected(); ok && it.File != "" {
				return s, checkFile(it.File)
			}
		case key.Matches(msg, kNew):
			return s, s.newForm()
		case key.Matches(msg, kOpenF):
			return s, s.openForm()
		}
	default:
		if s.form != nil {
			return s.updateForm(msg)
		}
	}
	return s, nil
}

func status(format string, a ...any) tea.Cmd {
	m := statusMsg(fmt.Sprintf(format, a...))
	return func() tea.Msg { return m }
}

func (s *home) newForm() tea.Cmd {
	s.nf = newGroupFields{File: "group.yaml", ViableMass: "2"}
	s.formOf = "new"
	s.form = huh.NewForm(huh.NewGroup(
		huh.NewInput().Title("File").Value(&s.nf.File).Validate(nonEmpty("a file name")),
		huh.NewInput().Title("Name (slug)").Placeholder("river-birders").Value(&s.nf.Name).Validate(func(v string) error {
			if !groups.ValidName(v) {
				return errors.New("3 to 40 of a-z, 0-9 and -")
			}
			return nil
		}),
		huh.NewInput().Title("Title").Value(&s.nf.Title).Validate(nonEmpty("a title")),
		huh.NewInput().Title("Your name (the lead)").Value(&s.nf.LeadName).Validate(nonEmpty("your name")),
		huh.NewInput().Title("Your email").Value(&s.nf.LeadEmail).Validate(nonEmpty("your email")),
		huh.NewInput().Title("Viable mass (pledges needed)").Value(&s.nf.ViableMass).Validate(isNumber),
	).Title("New group")).WithTheme(formTheme()).WithKeyMap(formKeys()).WithShowHelp(false).WithWidth(min(s.w, 72))
	return s.form.Init()
}

func (s *home) openForm() tea.Cmd {
	s.nf = newGroupFields{}
	s.formOf = "open"
	s.form = huh.NewForm(huh.NewGroup(
		huh.NewInput().Title("Open group file").Placeholder("examples/river-birders.yaml").Value(&s.nf.File).Validate(nonEmpty("a path")),
	)).WithTheme(formTheme()).WithKeyMap(formKeys()).WithShowHelp(false).WithWidth(min(s.w, 72))
	return s.form.Init()
}

func (s *home) updateForm(msg tea.Msg) (screen, tea.Cmd) {
	m, cmd := s.form.Update(msg)
	s.form = m.(*huh.Form)
	switch s.form.State {
	case huh.StateAborted:
		s.form = nil
		return s, nil
	case huh.StateCompleted:
		s.form = nil
		f := s.nf
		if s.formOf == "open" {
			return s, func() tea.Msg { return openMsg{f.File} }
		}
		return s, createGroup(s.d, f)
	}
	return s, cmd
}

func nonEmpty(what string) func(string) error {
	return func(v string) error {
		if strings.TrimSpace(v) == "" {
			return errors.New("needs " + what)
		}
		return nil
	}
}

func isNumber(v string) error {
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err != nil || n < 0 {
		return errors.New("a whole number")
	}
	return nil
}

func (s *home) View() string {
	if s.form != nil {
		return s.form.View()
	}
	var b strings.Builder
	b.WriteString(sHeading.Render("Groups and recent files") + "\n\n")
	if s.err != nil {
		b.WriteString(sBad.Render("cannot read the state: "+safetext.Line(s.err.Error())) + "\n")
	}
	if len(s.items) == 0 {
		b.WriteString("  No groups yet. Press n to create a group file, or o to open one\n")
		b.WriteString("  (try examples/river-birders.yaml).\n")
	}
	// the list scrolls to keep the cursor in view
	room := max(s.h-8, 3)
	first := max(0, s.cur-room+1)
	for i := first; i < len(s.items) && i < first+room; i++ {
		it := s.items[i]
		title := it.Title
		if title == "" {
			title = it.Name
		}
		line := fmt.Sprintf("%-26s %-10s %s", clip(safetext.Line(title), 26), it.State, clipLeft(s.d.shortPath(it.File), max(s.w-42, 10)))
		b.WriteString(selectLine(i == s.cur, line) + "\n")
	}
	if c := s.check; c != nil {
		b.WriteString("\n")
		switch {
		case c.err != nil:
			b.WriteString(sBad.Render("check "+s.d.shortPath(c.path)+": "+safetext.Line(c.err.Error())) + "\n")
		case len(c.probs) == 0:
			b.WriteString(sGood.Render("✓ "+s.d.shortPath(c.path)+" is valid") + "\n")
		default:
			b.WriteString(sBad.Render(fmt.Sprintf("✗ %s: %d %s", s.d.shortPath(c.path), len(c.probs), plural(len(c.probs), "problem", "problems"))) + "\n")
			for i, p := range c.probs {
				if i == 4 {
					b.WriteString(sMuted.Render(fmt.Sprintf("  … and %d more", len(c.probs)-4)) + "\n")
					break
				}
				b.WriteString(fmt.Sprintf("  %d:%d: %s\n", p.Line, p.Col, safetext.Line(p.Msg)))
			}
		}
	}
	return b.String()
}

// shortPath shows a path relative to the working directory when under
// it, else under the home directory as ~/…; both are read once, in New,
// not on every frame.
// absPath is a path the lead typed: ~/ is their home, and a relative
// path is relative to the directory the TUI started in.
func (d Deps) absPath(p string) string {
	p = strings.TrimSpace(p)
	if rest, ok := strings.CutPrefix(p, "~/"); ok && d.home != "" {
		return filepath.Join(d.home, rest)
	}
	if !filepath.IsAbs(p) && d.wd != "" {
		return filepath.Join(d.wd, p)
	}
	return p
}

func (d Deps) shortPath(p string) string {
	if p == "" {
		return "(no file)"
	}
	if d.wd != "" {
		if r, err := filepath.Rel(d.wd, p); err == nil && !strings.HasPrefix(r, "..") {
			return r
		}
	}
	if d.home != "" && d.home != "/" {
		if r, err := filepath.Rel(d.home, p); err == nil && !strings.HasPrefix(r, "..") {
			return filepath.Join("~", r)
		}
	}
	return p
}
