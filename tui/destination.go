package tui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"
	"github.com/charmbracelet/lipgloss"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/safetext"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/provision/existing"
)

// The destination screen: the local server, an existing server (with
// what scouting it found), or a new server with the server types' monthly
// cost and cost per member from live prices; choosing one saves it in the
// group file.

type (
	// pricesMsg carries the priced server types for a new server.
	pricesMsg struct {
		group  string
		prices provision.Prices
		err    error
	}
	// scoutedMsg carries the scouted existing servers, judged for the
	// group and ranked best first, and the servers that failed.
	scoutedMsg struct {
		group string
		fits  []existing.Fit
		errs  []string
	}
)

func loadPrices(ctx context.Context, d Deps, g *groups.Group) tea.Cmd {
	f := d.Prices
	if f == nil {
		return func() tea.Msg {
			return pricesMsg{group: g.Name, err: errors.New("prices are read by the command line here: run lifeboat plan")}
		}
	}
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		p, err := f(ctx, g)
		return pricesMsg{group: g.Name, prices: p, err: err}
	}
}

// scoutServers scouts the URLs for a group of size members
// (existing.ScoutAll: judged and ranked best first).
func scoutServers(d Deps, group string, size int, urls []string) tea.Cmd {
	return func() tea.Msg {
		fits, errs := existing.ScoutAll(d.ctx, urls, size, d.Scout)
		msg := scoutedMsg{group: group, fits: fits}
		for _, err := range errs {
			msg.errs = append(msg.errs, err.Error())
		}
		return msg
	}
}

// splitURLs reads server addresses separated by spaces or commas.
func splitURLs(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' || r == '\n' })
}

var destTypes = []string{groups.DestLocal, groups.DestExisting, groups.DestNew}

type destinationScreen struct {
	d      Deps
	path   string
	data   []byte
	group  *groups.Group
	w, h   int
	cur    int
	prices *pricesMsg
	asked  bool // prices requested for this group
	form   *huh.Form
	nd     groups.Destination

	// the existing servers scouted for the group
	urls     string
	scouting bool
	scouted  *scoutedMsg
	pick     int

	// the admission request: the form's answers, and the last written
	requesting bool
	ask        requestAsk
	written    *requestWrittenMsg
}

func newDestination(d Deps) *destinationScreen { return &destinationScreen{d: d} }

func (s *destinationScreen) Busy() bool { return s.form != nil }

func (s *destinationScreen) Keys() []key.Binding {
	if s.form != nil {
		return s.form.KeyBinds()
	}
	if destTypes[s.cur] == groups.DestExisting {
		if s.scouted != nil && len(s.scouted.fits) > 0 {
			return []key.Binding{kUp, kDown, kScout, kPick, kSave, kRequest}
		}
		return []key.Binding{kUp, kDown, kScout, kChoose, kRequest}
	}
	return []key.Binding{kUp, kDown, kChoose, kPrices}
}

var (
	kScout = key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "scout servers"))
	kPick  = key.NewBinding(key.WithKeys("left", "right", "h", "l"), key.WithHelp("←/→", "pick server"))
	kSave  = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "choose picked"))
	kLeft  = key.NewBinding(key.WithKeys("left", "h"))
)

func (s *destinationScreen) Update(msg tea.Msg) (screen, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		s.w, s.h = msg.Width, msg.Height
	case groupLoadedMsg:
		if msg.err == nil {
			if s.group == nil || msg.group == nil || s.group.Name != msg.group.Name {
				s.prices, s.asked = nil, false
				s.scouted, s.pick, s.urls = nil, 0, ""
				s.written = nil
			}
			s.path, s.data, s.group = msg.path, msg.data, msg.group
			if s.group != nil {
				s.cur = max(0, slices.Index(destTypes, s.group.Destination.Type))
			}
		}
	case enteredMsg:
		if msg.id == destScreen && s.group != nil && !s.asked {
			s.asked = true
			return s, loadPrices(s.d.ctx, s.d, s.group)
		}
	case pricesMsg:
		if s.group != nil && msg.group == s.group.Name {
			s.prices = &msg
		}
	case scoutedMsg:
		if s.group != nil && msg.group == s.group.Name {
			s.scouted, s.scouting, s.pick = &msg, false, 0
			note := fmt.Sprintf("scouted %d %s", len(msg.fits), plural(len(msg.fits), "server", "servers"))
			if len(msg.errs) > 0 {
				note += fmt.Sprintf("; %d did not answer as a Mastodon-API server", len(msg.errs))
			}
			return s, status("%s", note)
		}
	case requestWrittenMsg:
		if s.group != nil && msg.group == s.group.Name {
			s.written = &msg
			if msg.err != nil {
				return s, status("the admission request was not written: %v", msg.err)
			}
			return s, status("wrote the admission request to %s", s.d.shortPath(msg.asked.Path))
		}
	case tea.KeyMsg:
		if s.form != nil {
			return s.updateForm(msg)
		}
		if s.group == nil {
			return s, nil
		}
		switch {
		case destTypes[s.cur] == groups.DestExisting && key.Matches(msg, kRequest):
			return s, s.requestForm()
		case key.Matches(msg, kUp):
			s.cur = max(s.cur-1, 0)
		case key.Matches(msg, kDown):
			s.cur = min(s.cur+1, len(destTypes)-1)
		case key.Matches(msg, kPrices):
			s.asked = true
			return s, loadPrices(s.d.ctx, s.d, s.group)
		case destTypes[s.cur] == groups.DestExisting && key.Matches(msg, kScout):
			return s, s.scoutForm()
		case destTypes[s.cur] == groups.DestExisting && s.scouted != nil && len(s.scouted.fits) > 0 && key.Matches(msg, kPick):
			if key.Matches(msg, kLeft) {
				s.pick = max(s.pick-1, 0)
			} else {
				s.pick = min(s.pick+1, len(s.scouted.fits)-1)
			}
		case destTypes[s.cur] == groups.DestExisting && s.scouted != nil && len(s.scouted.fits) > 0 && key.Matches(msg, kSave):
			r := s.scouted.fits[s.pick].Report
			return s, saveGroup(s.d, s.path, s.data, groups.EditDestination(groups.Destination{Type: groups.DestExisting, Server: r.URL}),
				"destination: existing "+r.URL)
		case key.Matches(msg, kChoose):
			return s, s.choose()
		}
	default:
		if s.form != nil {
			return s.updateForm(msg)
		}
	}
	return s, nil
}

func (s *destinationScreen) choose() tea.Cmd {
	cur := s.group.Destination
	switch destTypes[s.cur] {
	case groups.DestLocal:
		d := groups.Destination{Type: groups.DestLocal, Software: cur.SoftwareOrDefault()}
		if cur.Type == groups.DestExisting {
			d.Software = groups.SoftwareGoToSocial
		}
		return saveGroup(s.d, s.path, s.data, groups.EditDestination(d), "destination: local")
	case groups.DestExisting:
		s.nd = groups.Destination{Type: groups.DestExisting, Server: cur.Server}
		s.form = huh.NewForm(huh.NewGroup(
			huh.NewInput().Title("Server (https://…)").Placeholder("https://social.example").Value(&s.nd.Server).
				Validate(func(v string) error {
					if !strings.HasPrefix(v, "https://") {
						return errors.New("an https:// address")
					}
					return nil
				}),
		).Title("An existing server")).WithTheme(formTheme()).WithKeyMap(formKeys()).WithShowHelp(false).WithWidth(min(s.w, 72))
	default:
		s.nd = groups.Destination{Type: groups.DestNew, Cloud: groups.CloudHetzner, Software: cur.SoftwareOrDefault(),
			Domain: cur.Domain, Location: cur.Location, ServerType: cur.ServerType}
		if cur.Type == groups.DestExisting {
			s.nd.Software = groups.SoftwareGoToSocial
		}
		if s.nd.Location == "" {
			s.nd.Location = s.d.Locations[0]
		}
		if s.nd.ServerType == "" {
			s.nd.ServerType = s.d.ServerTypes[0]
		}
		var typeOpts []huh.Option[string]
		for _, t := range s.d.ServerTypes {
			label := t
			if p := s.priced(t); p != nil && p.Err == "" {
				label = fmt.Sprintf("%s  %.2f %s/month, %.2f per member", t, p.Monthly, s.prices.prices.Currency, p.PerMember)
			}
			typeOpts = append(typeOpts, huh.NewOption(label, t))
		}
		s.form = huh.NewForm(huh.NewGroup(
			huh.NewInput().Title("Domain").Placeholder("social.example.org").Value(&s.nd.Domain).Validate(nonEmpty("a domain")),
			huh.NewSelect[string]().Title("Server type").Options(typeOpts...).Value(&s.nd.ServerType),
			huh.NewSelect[string]().Title("Location").Options(huh.NewOptions(s.d.Locations...)...).Value(&s.nd.Location),
			huh.NewSelect[string]().Title("Software").Options(huh.NewOptions(groups.SoftwareGoToSocial, "mastodon")...).Value(&s.nd.Software),
		).Title("A new server on Hetzner Cloud")).WithTheme(formTheme()).WithKeyMap(formKeys()).WithShowHelp(false).WithWidth(min(s.w, 72))
	}
	return s.form.Init()
}

func (s *destinationScreen) priced(t string) *provision.PricedType {
	if s.prices == nil || s.prices.err != nil {
		return nil
	}
	for i := range s.prices.prices.Types {
		if s.prices.prices.Types[i].Name == t {
			return &s.prices.prices.Types[i]
		}
	}
	return nil
}

// scoutForm asks for the servers to scout.
func (s *destinationScreen) scoutForm() tea.Cmd {
	if s.urls == "" {
		s.urls = s.group.Destination.Server
	}
	s.nd = groups.Destination{} // the form is not a destination
	s.form = huh.NewForm(huh.NewGroup(
		huh.NewInput().Title("Servers to scout (one or more, separated by spaces)").Placeholder("social.example other.example").
			Value(&s.urls).Validate(nonEmpty("a server")),
	).Title("Scout existing servers")).WithTheme(formTheme()).WithKeyMap(formKeys()).WithShowHelp(false).WithWidth(min(s.w, 72))
	return s.form.Init()
}

func (s *destinationScreen) updateForm(msg tea.Msg) (screen, tea.Cmd) {
	m, cmd := s.form.Update(msg)
	s.form = m.(*huh.Form)
	switch s.form.State {
	case huh.StateAborted:
		s.form = nil
		if s.requesting {
			s.requesting = false
			return s, status("no admission request written")
		}
		return s, status("destination not changed")
	case huh.StateCompleted:
		s.form = nil
		if s.requesting {
			s.requesting = false
			return s, tea.Batch(status("scouting %s and writing the admission request…", safetext.Line(s.ask.server)), s.writeRequest())
		}
		if s.nd.Type == "" {
			urls := splitURLs(s.urls)
			s.scouting = true
			return s, tea.Batch(status("scouting %d %s…", len(urls), plural(len(urls), "server", "servers")),
				scoutServers(s.d, s.group.Name, len(s.group.Members), urls))
		}
		d := s.nd
		return s, saveGroup(s.d, s.path, s.data, groups.EditDestination(d), "destination: "+d.Type)
	}
	return s, cmd
}

func (s *destinationScreen) View() string {
	if s.form != nil {
		return s.form.View()
	}
	if s.group == nil {
		return "No group open (or its file has problems: see the group screen)."
	}
	g := s.group
	var b strings.Builder
	b.WriteString(sHeading.Render("Destination") + "  now: " + destSummary(g.Destination) + "\n\n")
	labels := map[string]string{
		groups.DestLocal:    "Local     GoToSocial on this machine, to try the whole escape",
		groups.DestExisting: "Existing  a server that admits the group",
		groups.DestNew:      "New       a server of the group's own on Hetzner Cloud",
	}
	for i, t := range destTypes {
		mark := " "
		if g.Destination.Type == t {
			mark = "*"
		}
		b.WriteString(selectLine(i == s.cur, mark+" "+labels[t]) + "\n")
	}
	b.WriteString("\n")
	if destTypes[s.cur] == groups.DestExisting {
		b.WriteString(s.requestView())
		b.WriteString(s.existingView())
	} else {
		b.WriteString(s.detail(destTypes[s.cur]))
	}
	return strings.TrimRight(b.String(), "\n")
}

func (s *destinationScreen) detail(t string) string {
	g := s.group
	switch t {
	case groups.DestLocal:
		return "A real GoToSocial server on loopback with SQLite: nothing to pay, no\naccount needed. Try the whole escape on it, members simulated:\nlifeboat demo --group " + s.d.shortPath(s.path)
	case groups.DestExisting:
		server := g.Destination.Server
		if server == "" {
			server = "(none chosen)"
		}
		return "Server: " + server + "\nThe admin reviews the group's signed admission\nrequest; accepted members' sign-ups are approved."
	}
	var b strings.Builder
	p := s.prices
	switch {
	case p == nil:
		b.WriteString("reading prices…")
	case p.err != nil:
		b.WriteString(sBad.Render("prices: "+safetext.Line(p.err.Error())) + "\n" + sMuted.Render("p to try again"))
	case len(p.prices.Missing) > 0:
		b.WriteString("Prices need:\n")
		for _, m := range p.prices.Missing {
			b.WriteString(sWarn.Render("  - "+m) + "\n")
		}
		b.WriteString(sMuted.Render("You can still choose a server type now and price it later (p)."))
	default:
		pr := p.prices
		b.WriteString(sHeading.Render(fmt.Sprintf("  %-7s %5s %7s %12s %12s", "type", "vCPU", "RAM", pr.Currency+"/month", "per member")) + "\n")
		for _, t := range pr.Types {
			if t.Err != "" {
				b.WriteString(fmt.Sprintf("  %-7s %s\n", t.Name, clip(safetext.Line(t.Err), max(s.w-12, 10))))
				continue
			}
			mark := " "
			if t.Name == g.Destination.ServerType {
				mark = "*"
			}
			b.WriteString(fmt.Sprintf("%s %-7s %5d %5gGB %12.2f %12.2f\n", mark, t.Name, t.Cores, t.MemoryGB, t.Monthly, t.PerMember))
		}
		b.WriteString(sMuted.Render(fmt.Sprintf("in %s, backups included, VAT included; %d members", pr.Location, len(g.Members))))
	}
	return b.String()
}

// existingView is the existing option: the chosen server, and the
// scouted servers' reports with their fit for the group, side by side
// when the terminal is wide enough, stacked and shorter when it is not.
func (s *destinationScreen) existingView() string {
	var b strings.Builder
	switch {
	case s.scouting:
		b.WriteString(s.detail(groups.DestExisting) + "\n\n" + "scouting…")
		return b.String()
	case s.scouted == nil:
		b.WriteString(s.detail(groups.DestExisting) + "\n\n")
		b.WriteString(sMuted.Render(wrap("s scouts servers: type one or more addresses to see, side by side, what each runs, "+
			"whether sign-ups are open, need approval or are closed, its rules and active users, and how it fits the group.", min(s.w, 76))))
		return b.String()
	}
	sc := s.scouted
	n := len(s.group.Members)
	if len(sc.fits) > 0 {
		b.WriteString(clip(fmt.Sprintf("Scouted for %d members, best first; ←/→ picks, enter makes it the destination:", n), s.w) + "\n")
	}
	if s.w >= 100 {
		cw := (s.w - 2) / 2
		for i := 0; i < len(sc.fits); i += 2 {
			row := []string{lipgloss.NewStyle().Width(cw).Render(s.card(i, cw))}
			if i+1 < len(sc.fits) {
				row = append(row, "  ", lipgloss.NewStyle().Width(cw).Render(s.card(i+1, cw)))
			}
			b.WriteString(lipgloss.JoinHorizontal(lipgloss.Top, row...) + "\n")
		}
	} else {
		for i := range sc.fits {
			b.WriteString(s.compactCard(i) + "\n")
		}
	}
	for _, e := range sc.errs {
		b.WriteString(sBad.Render(clip("✗ "+safetext.Line(e), s.w)) + "\n")
	}
	if len(sc.fits) == 0 {
		b.WriteString(sMuted.Render("No server answered: s to scout again.") + "\n")
	}
	return b.String()
}

// card is a scouted server's full report and fit, w cells wide.
func (s *destinationScreen) card(i, w int) string {
	f := s.scouted.fits[i]
	r := f.Report
	var b strings.Builder
	b.WriteString(clip(selectLine(i == s.pick, fmt.Sprintf("%d. %s  %s", i+1, reportTitle(r), verdictWord(f.Verdict))), w) + "\n")
	b.WriteString(clip("   "+safetext.Line(r.URL)+s.currentMark(r), w) + "\n")
	var rows [][2]string
	for _, row := range reportRows(r) {
		rows = append(rows, [2]string{row[0], clip(safetext.Line(row[1]), max(w-19, 8))})
	}
	b.WriteString(indent(kv(rows), "   ") + "\n")
	for j, rule := range r.Rules {
		b.WriteString(clip(fmt.Sprintf("     %d. %s", j+1, safetext.Line(rule)), w) + "\n")
	}
	b.WriteString(clip(fmt.Sprintf("   fit for %d members: %s", f.Size, f.Verdict), w) + "\n")
	for _, note := range f.Notes {
		b.WriteString(indent(strings.ReplaceAll(wrap("- "+safetext.Line(note), max(w-5, 12)), "\n", "\n  "), "   ") + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// compactCard is a scouted server in three lines, with the fit's notes
// under the picked one.
func (s *destinationScreen) compactCard(i int) string {
	f := s.scouted.fits[i]
	r := f.Report
	var b strings.Builder
	b.WriteString(clip(selectLine(i == s.pick, fmt.Sprintf("%d. %s  %s%s  %s", i+1, reportTitle(r), safetext.Line(r.URL), s.currentMark(r),
		verdictWord(f.Verdict))), s.w) + "\n")
	facts := []string{strings.TrimSpace(r.Software + " " + r.Version), r.Registrations}
	if r.ActiveUsers > 0 {
		facts = append(facts, fmt.Sprintf("%d active users", r.ActiveUsers))
	} else {
		facts = append(facts, "active users not published")
	}
	if len(r.Languages) > 0 {
		facts = append(facts, strings.Join(r.Languages, ", "))
	}
	facts = append(facts, fmt.Sprintf("%d %s", len(r.Rules), plural(len(r.Rules), "rule", "rules")))
	b.WriteString(clip("     "+safetext.Line(strings.Join(facts, " · ")), s.w) + "\n")
	if c := r.ContactLine(); c != "" {
		b.WriteString(clip("     contact "+safetext.Line(c), s.w) + "\n")
	}
	if i == s.pick {
		for _, note := range f.Notes {
			b.WriteString(clip("     - "+safetext.Line(note), s.w) + "\n")
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

func (s *destinationScreen) currentMark(r *existing.Report) string {
	if d := s.group.Destination; d.Type == groups.DestExisting && strings.TrimRight(d.Server, "/") == r.URL {
		return " (chosen)"
	}
	return ""
}

func reportTitle(r *existing.Report) string {
	if r.Title != "" {
		return safetext.Line(r.Title)
	}
	return safetext.Line(r.Domain)
}

func verdictWord(v string) string {
	switch v {
	case existing.Good:
		return sGood.Render("fit: " + v)
	case existing.Poor:
		return sBad.Render("fit: " + v)
	}
	return sWarn.Render("fit: " + v)
}

// reportRows are the report's facts as lifeboat scout prints them, and
// how many rules the server lists.
func reportRows(r *existing.Report) [][2]string {
	rules := "none listed"
	if len(r.Rules) > 0 {
		rules = fmt.Sprintf("%d:", len(r.Rules))
	}
	return append(r.Facts(), [2]string{"rules", rules})
}

func indent(s, pre string) string {
	return pre + strings.ReplaceAll(s, "\n", "\n"+pre)
}
