package tui

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"
	"github.com/charmbracelet/lipgloss"

	"github.com/lifeboat-social/lifeboat/analyze"
	"github.com/lifeboat-social/lifeboat/analyze/follows"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/safetext"
	"github.com/lifeboat-social/lifeboat/lead"
)

// The analysis screen: lifeboat analyze's answers (lead.Analyze, package
// analyze) on a follow graph the lead names, an edge list or a data
// export: the viable set for K, the communities, retention, growth
// suggestions, and the picture drawn in braille dots, coloured by
// community, the viable set inside the ring, the lead at the centre. The
// analysis runs as a command; its progress events come back one at a
// time.

var (
	kAnalyze     = key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "analyze a graph"))
	kAnalyzeHome = key.NewBinding(key.WithKeys("G"), key.WithHelp("G", "analyze a graph"))
)

type (
	// analysisEventMsg is a progress event of run.
	analysisEventMsg struct {
		run int
		ev  progress.Event
	}
	// analysisDoneMsg is run's answer, or why there is none.
	analysisDoneMsg struct {
		run  int
		rep  *analyze.Report
		lead string // the lead's label in the graph, when the domain knows it
		err  error
	}
)

// analysisAsk is what the form asks.
type analysisAsk struct{ path, owner, k, lead string }

type analysisScreen struct {
	d       Deps
	group   *groups.Group // the open group: its imported graph is the default
	w, h    int
	form    *huh.Form
	ask     analysisAsk
	run     int // the current run; older runs' messages are dropped
	running bool
	ch      chan tea.Msg
	log     []string
	rep     *analyze.Report
	err     error
	shown   analysisAsk // what the answer on screen is of
	centre  string      // the lead's label in the graph answered
}

func newAnalysis(d Deps) *analysisScreen { return &analysisScreen{d: d, ask: analysisAsk{k: "1"}} }

func (s *analysisScreen) Busy() bool { return s.form != nil }

func (s *analysisScreen) Keys() []key.Binding {
	if s.form != nil {
		return s.form.KeyBinds()
	}
	return []key.Binding{kAnalyze}
}

func (s *analysisScreen) Update(msg tea.Msg) (screen, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		s.w, s.h = msg.Width, msg.Height
	case groupLoadedMsg:
		if msg.group != nil {
			s.group = msg.group
		}
	case analysisEventMsg:
		if msg.run == s.run {
			if line := eventLine(msg.ev); line != "" {
				s.log = append(s.log, line)
			}
			return s, next(s.ch)
		}
	case analysisDoneMsg:
		if msg.run == s.run {
			s.running, s.ch = false, nil
			s.rep, s.err = msg.rep, msg.err
			s.centre = strings.TrimSpace(s.shown.lead)
			if s.centre == "" {
				s.centre = msg.lead
			}
			if msg.err != nil {
				return s, status("the analysis stopped: %v", msg.err)
			}
			return s, status("viable set: %d of %d people", msg.rep.ViableSize, msg.rep.Nodes)
		}
	case tea.KeyMsg:
		if s.form != nil {
			return s.updateForm(msg)
		}
		if key.Matches(msg, kAnalyze) {
			if s.running {
				return s, status("the analysis is still running")
			}
			return s, s.askForm()
		}
	default:
		if s.form != nil {
			return s.updateForm(msg)
		}
	}
	return s, nil
}

func (s *analysisScreen) askForm() tea.Cmd {
	graph := huh.NewInput().Title("Follow graph: an edge list, or a data export (X, Bluesky, Mastodon, Instagram)").
		Placeholder("follows.txt").Value(&s.ask.path).Validate(nonEmpty("a file"))
	if s.group != nil {
		graph = huh.NewInput().Title("Follow graph: empty for the group's imported graph (lifeboat import --group), or an edge list or a data export").
			Placeholder("the group's graph").Value(&s.ask.path)
	}
	s.form = huh.NewForm(huh.NewGroup(
		graph,
		huh.NewInput().Title("Whose export, where it does not say (e.g. @ada@social.example); empty otherwise").Value(&s.ask.owner),
		huh.NewInput().Title("K: everyone in the viable set follows at least K others in it").Value(&s.ask.k).Validate(func(v string) error {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err != nil || n < 0 {
				return errors.New("a number, 0 or more")
			}
			return nil
		}),
		huh.NewInput().Title("The lead's label in the graph, drawn at the centre (optional)").Value(&s.ask.lead),
	).Title("Which subgroup would stay?")).WithTheme(formTheme()).WithKeyMap(formKeys()).WithShowHelp(false).WithWidth(min(max(s.w, 40), 76))
	return s.form.Init()
}

func (s *analysisScreen) updateForm(msg tea.Msg) (screen, tea.Cmd) {
	m, cmd := s.form.Update(msg)
	s.form = m.(*huh.Form)
	switch s.form.State {
	case huh.StateAborted:
		s.form = nil
		return s, status("nothing analysed")
	case huh.StateCompleted:
		s.form = nil
		return s, s.start()
	}
	return s, cmd
}

// start runs the analysis as a command: it begins in the command, never
// in Update, and its events come back through ch one at a time.
func (s *analysisScreen) start() tea.Cmd {
	s.run++
	s.running, s.rep, s.err, s.log = true, nil, nil, nil
	s.shown = s.ask
	k, _ := strconv.Atoi(strings.TrimSpace(s.ask.k))
	run, ctx, ch := s.run, s.d.ctx, make(chan tea.Msg, 16)
	s.ch = ch
	o := analyze.Options{MinFollows: k, Seed: 1, Suggestions: 10}
	path, owner := strings.TrimSpace(s.ask.path), strings.TrimSpace(s.ask.owner)
	g, desk := s.group, s.d.Desk
	what := "the group's imported graph"
	if path != "" {
		path = s.d.absPath(path)
		what = s.d.shortPath(path)
	}
	begin := func() tea.Msg {
		go func() {
			emit := func(e progress.Event) { ch <- analysisEventMsg{run, e} }
			done := analysisDoneMsg{run: run}
			switch {
			case path != "":
				done.rep, done.err = lead.Analyze(ctx, path, owner, o, emit)
			case desk == nil || g == nil:
				done.err = errors.New("no group graph here: name an edge list or an export")
			default:
				done.rep, done.lead, done.err = desk.AnalyzeGroup(ctx, g, o, emit)
			}
			ch <- done
			close(ch)
		}()
		return <-ch
	}
	// the status first: the answer's own status must not be overwritten
	return tea.Sequence(status("analysing %s…", what), begin)
}

func eventLine(e progress.Event) string {
	switch e.Kind {
	case progress.StepStarted:
		return "… " + e.Message
	case progress.StepDone:
		return "✓ " + e.Message
	}
	return ""
}

func (s *analysisScreen) View() string {
	if s.form != nil {
		return s.form.View()
	}
	var b strings.Builder
	b.WriteString(sHeading.Render("Which subgroup would stay?") + "\n")
	switch {
	case s.running:
		for _, l := range s.log {
			b.WriteString(safetext.Line(l) + "\n")
		}
		return b.String()
	case s.err != nil:
		b.WriteString(sBad.Render(wrap("The analysis stopped: "+safetext.Line(s.err.Error()), min(max(s.w-2, 20), 76))) + "\n")
		b.WriteString(sMuted.Render(wrap(analysisAdvice(s.err), min(max(s.w-2, 20), 76))) + "\n")
		return b.String()
	case s.rep == nil:
		b.WriteString(sMuted.Render(wrap("a names a follow graph, an edge list (lifeboat import writes one) or a data export, and finds "+
			"the viable set: the largest subgroup in which everyone follows at least K others inside it.", min(max(s.w-2, 20), 76))))
		return b.String()
	}
	// the words first, the picture in what is left (at least 12 cells)
	tw := min(62, s.w-s.w*3/8)
	if s.w-tw < 12 {
		tw = s.w
	}
	text := s.answers(tw)
	if tw == s.w {
		return b.String() + text
	}
	pic := picture(s.rep.Layout(s.centre), s.w-tw-1, max(s.h-1, 4))
	b.WriteString(lipgloss.JoinHorizontal(lipgloss.Top, lipgloss.NewStyle().Width(tw).Render(text), " ", pic))
	return b.String()
}

// analysisAdvice says what to do about a failed analysis, by the error's
// type.
func analysisAdvice(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "Check the file's name: a relative name is read from the directory lifeboat started in."
	case errors.Is(err, follows.ErrNoOwner) || errors.Is(err, follows.ErrOwner):
		return "Say whose export it is in the second field, as people write it on that network."
	case errors.Is(err, follows.ErrFormat) || errors.Is(err, follows.ErrTooLarge):
		return "The export is damaged or too large: download it again, or import it with lifeboat import to see more."
	}
	return "a to try another file."
}

// source is what the answer on screen was read from.
func (s *analysisScreen) source() string {
	if strings.TrimSpace(s.shown.path) == "" {
		return "the group's imported graph"
	}
	return s.d.shortPath(s.d.absPath(s.shown.path))
}

// answers is the report in words, w cells wide.
func (s *analysisScreen) answers(w int) string {
	r := s.rep
	rows := [][2]string{
		{"from", s.source()},
		{"graph", fmt.Sprintf("%d people, %d follows", r.Nodes, r.Edges)},
		{"viable set", fmt.Sprintf("%d of %d follow %d+ others in it", r.ViableSize, r.Nodes, r.MinFollows)},
	}
	if r.ViableSize > 0 {
		rows = append(rows, [2]string{"retention", fmt.Sprintf("weakest %.0f%%, median %.0f%% of follows", 100*r.Retention.Min, 100*r.Retention.Median)})
	}
	rows = append(rows, [2]string{"communities", fmt.Sprintf("%d, modularity %.3f", len(r.Communities), r.Modularity)})
	for i := range rows {
		rows[i][1] = clip(safetext.Line(rows[i][1]), max(w-14, 10))
	}
	var b strings.Builder
	b.WriteString(kv(rows) + "\n")
	for i, c := range r.Communities {
		if i == 5 {
			b.WriteString(fmt.Sprintf("  … and %d smaller\n", len(r.Communities)-5))
			break
		}
		b.WriteString(fmt.Sprintf("  %s %d  %d people, %d viable\n", communityStyle(i).Render("■"), i+1, c.Size, c.Viable))
	}
	if len(r.Suggestions) > 0 {
		b.WriteString(clip(sHeading.Render("invite next")+" (followed by many in the set)", w) + "\n")
		for i, sg := range r.Suggestions {
			if i == 5 {
				break
			}
			b.WriteString(clip(fmt.Sprintf("  %s  by %d; the weakest would keep %.0f%%", safetext.Line(sg.Label), sg.FollowedBy, 100*sg.MinAfter), w) + "\n")
		}
	}
	b.WriteString(sMuted.Render(clip("◉ the lead; inside the ring, the viable set", w)))
	return b.String()
}

// communityColours tell the largest communities apart in the picture;
// the rest are grey. Colour is never the only sign: the ring and the
// lead's mark carry the answer.
var communityColours = []string{"4", "3", "2", "1", "5", "6", "12", "11", "10", "13"}

func communityStyle(c int) lipgloss.Style {
	if c < len(communityColours) {
		return lipgloss.NewStyle().Foreground(lipgloss.Color(communityColours[c]))
	}
	return sMuted
}

// braille bits of the dot at (x, y) within a 2×4 cell.
var brailleBit = [4][2]rune{{0x01, 0x08}, {0x02, 0x10}, {0x04, 0x20}, {0x40, 0x80}}

// picture draws dots in a w×h cell area of braille characters: each
// cell holds 2×4 dots and takes the colour of the last person drawn in
// it; the dashed ring is drawn first, the lead last, as ◉.
func picture(dots []analyze.Dot, w, h int) string {
	side := min(2*w, 4*h) // square, in braille dots
	if side < 8 {
		return ""
	}
	cw, ch := (side+1)/2, (side+3)/4
	bits := make([][]rune, ch)
	colour := make([][]int, ch) // community + 1; 0 for the ring alone
	for y := range bits {
		bits[y], colour[y] = make([]rune, cw), make([]int, cw)
	}
	plot := func(fx, fy float64) (int, int, bool) {
		x, y := int(fx*float64(side-1)+0.5), int(fy*float64(side-1)+0.5)
		if x < 0 || y < 0 || x >= side || y >= side {
			return 0, 0, false
		}
		bits[y/4][x/2] |= brailleBit[y%4][x%2]
		return x / 2, y / 4, true
	}
	steps := max(side*4, 64)
	for i := range steps {
		if (i/4)%2 == 1 { // dashed
			continue
		}
		a := 2 * math.Pi * float64(i) / float64(steps)
		plot(0.5+analyze.Ring*math.Cos(a), 0.5+analyze.Ring*math.Sin(a))
	}
	leadX, leadY := -1, -1
	for _, d := range dots {
		if d.Lead {
			leadX, leadY, _ = plot(d.X, d.Y)
			continue
		}
		if x, y, ok := plot(d.X, d.Y); ok {
			colour[y][x] = d.Community + 1
		}
	}
	var b strings.Builder
	for y := range bits {
		for x := range bits[y] {
			switch {
			case x == leadX && y == leadY:
				b.WriteString(sHeading.Render("◉"))
			case bits[y][x] == 0:
				b.WriteByte(' ')
			case colour[y][x] == 0:
				b.WriteString(sMuted.Render(string(0x2800 + bits[y][x])))
			default:
				b.WriteString(communityStyle(colour[y][x] - 1).Render(string(0x2800 + bits[y][x])))
			}
		}
		if y < len(bits)-1 {
			b.WriteByte('\n')
		}
	}
	return b.String()
}
