package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"
	"github.com/charmbracelet/lipgloss"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/provision/hetzner"
)

// The destination screen: the local server, an existing server (with
// what scouting it found), or a new server with the server types' monthly
// cost and cost per member from live prices; choosing one saves it in the
// group file.

type (
	// pricesMsg carries the priced server types for a new server.
	pricesMsg struct {
		group  string
		prices Prices
		err    error
	}
)

// Prices are the server types a new server can have, priced.
type Prices struct {
	Currency string
	Location string
	Types    []PricedType
	// Missing says what is needed before prices can be read (e.g. a
	// token); the screen shows it instead of failing.
	Missing []string
}

// PricedType is one server type with its monthly cost.
type PricedType struct {
	Name      string
	Cores     int
	MemoryGB  float64
	Monthly   float64
	PerMember float64
	Err       string // not orderable here, and why
}

// PriceTypes are the server types the destination screen prices.
var PriceTypes = []string{"cx22", "cx32", "cx42", "cax11"}

// HetznerPrices prices PriceTypes for g through the Hetzner Cloud API
// (the same pre-flight as lifeboat plan); without a token it says so.
func HetznerPrices(ctx context.Context, g *groups.Group) (Prices, error) {
	p := Prices{Location: g.Destination.Location}
	if p.Location == "" {
		p.Location = "fsn1"
	}
	token, err := hetzner.TokenFromEnv()
	if err != nil {
		return p, err
	}
	if token == "" {
		p.Missing = append(p.Missing, "a Hetzner Cloud token: export HCLOUD_TOKEN (or HCLOUD_TOKEN_FILE) and restart")
		return p, nil
	}
	dir, err := os.MkdirTemp("", "lifeboat-prices-")
	if err != nil {
		return p, err
	}
	defer os.RemoveAll(dir)
	for _, t := range PriceTypes {
		cg := *g
		cg.Destination = groups.Destination{Type: groups.DestNew, Cloud: groups.CloudHetzner, Software: g.Destination.SoftwareOrDefault(),
			Domain: "prices.invalid", Location: p.Location, ServerType: t}
		if cg.Destination.Software == "" {
			cg.Destination.Software = groups.SoftwareGoToSocial
		}
		plan, err := hetzner.Preflight(ctx, hetzner.Config{Group: &cg, Dir: filepath.Join(dir, t), Token: token,
			Endpoint: os.Getenv("HCLOUD_ENDPOINT")})
		pt := PricedType{Name: t}
		switch {
		case errors.Is(err, hetzner.ErrToken) || errors.Is(err, hetzner.ErrUnreachable):
			return p, err
		case err != nil:
			pt.Err = err.Error()
		default:
			pt.Cores, pt.MemoryGB = plan.ServerType.Cores, plan.ServerType.MemoryGB
			pt.Monthly, pt.PerMember = plan.Cost.Monthly, plan.Cost.PerMember
			p.Currency = plan.Cost.Currency
		}
		p.Types = append(p.Types, pt)
	}
	return p, nil
}

func loadPrices(d Deps, g *groups.Group) tea.Cmd {
	f := d.Prices
	if f == nil {
		f = HetznerPrices
	}
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		p, err := f(ctx, g)
		return pricesMsg{group: g.Name, prices: p, err: err}
	}
}

var destTypes = []string{groups.DestLocal, groups.DestExisting, groups.DestNew}

type destination struct {
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
}

func newDestination(d Deps) *destination { return &destination{d: d} }

func (s *destination) Busy() bool { return s.form != nil }

func (s *destination) Keys() []key.Binding {
	if s.form != nil {
		return s.form.KeyBinds()
	}
	return []key.Binding{kUp, kDown, kChoose, kPrices}
}

func (s *destination) Update(msg tea.Msg) (screen, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		s.w, s.h = msg.Width, msg.Height
	case groupLoadedMsg:
		if msg.err == nil {
			if s.group == nil || msg.group == nil || s.group.Name != msg.group.Name {
				s.prices, s.asked = nil, false
			}
			s.path, s.data, s.group = msg.path, msg.data, msg.group
			if s.group != nil {
				s.cur = max(0, indexOf(destTypes, s.group.Destination.Type))
			}
		}
	case enteredMsg:
		if msg.id == destScreen && s.group != nil && !s.asked {
			s.asked = true
			return s, loadPrices(s.d, s.group)
		}
	case pricesMsg:
		if s.group != nil && msg.group == s.group.Name {
			s.prices = &msg
		}
	case tea.KeyMsg:
		if s.form != nil {
			return s.updateForm(msg)
		}
		if s.group == nil {
			return s, nil
		}
		switch {
		case key.Matches(msg, kUp):
			s.cur = max(s.cur-1, 0)
		case key.Matches(msg, kDown):
			s.cur = min(s.cur+1, len(destTypes)-1)
		case key.Matches(msg, kPrices):
			s.asked = true
			return s, loadPrices(s.d, s.group)
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

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

func (s *destination) choose() tea.Cmd {
	cur := s.group.Destination
	switch destTypes[s.cur] {
	case groups.DestLocal:
		d := groups.Destination{Type: groups.DestLocal, Software: cur.SoftwareOrDefault()}
		if cur.Type == groups.DestExisting {
			d.Software = groups.SoftwareGoToSocial
		}
		return saveGroup(s.d, s.path, s.data, editDestination(d), "destination: local")
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
			s.nd.Location = "fsn1"
		}
		if s.nd.ServerType == "" {
			s.nd.ServerType = PriceTypes[0]
		}
		var typeOpts []huh.Option[string]
		for _, t := range PriceTypes {
			label := t
			if p := s.priced(t); p != nil && p.Err == "" {
				label = fmt.Sprintf("%s  %.2f %s/month, %.2f per member", t, p.Monthly, s.prices.prices.Currency, p.PerMember)
			}
			typeOpts = append(typeOpts, huh.NewOption(label, t))
		}
		s.form = huh.NewForm(huh.NewGroup(
			huh.NewInput().Title("Domain").Placeholder("social.example.org").Value(&s.nd.Domain).Validate(nonEmpty("a domain")),
			huh.NewSelect[string]().Title("Server type").Options(typeOpts...).Value(&s.nd.ServerType),
			huh.NewSelect[string]().Title("Location").Options(huh.NewOptions("fsn1", "nbg1", "hel1", "ash", "hil")...).Value(&s.nd.Location),
			huh.NewSelect[string]().Title("Software").Options(huh.NewOptions(groups.SoftwareGoToSocial, "mastodon")...).Value(&s.nd.Software),
		).Title("A new server on Hetzner Cloud")).WithTheme(formTheme()).WithKeyMap(formKeys()).WithShowHelp(false).WithWidth(min(s.w, 72))
	}
	return s.form.Init()
}

func (s *destination) priced(t string) *PricedType {
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

func (s *destination) updateForm(msg tea.Msg) (screen, tea.Cmd) {
	m, cmd := s.form.Update(msg)
	s.form = m.(*huh.Form)
	switch s.form.State {
	case huh.StateAborted:
		s.form = nil
		return s, status("destination not changed")
	case huh.StateCompleted:
		s.form = nil
		d := s.nd
		return s, saveGroup(s.d, s.path, s.data, editDestination(d), "destination: "+d.Type)
	}
	return s, cmd
}

func (s *destination) View() string {
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
	left := s.detail(destTypes[s.cur])
	if s.w >= 110 && destTypes[s.cur] == groups.DestExisting {
		// wide terminals show the scout beside the admission steps
		left = lipgloss.JoinHorizontal(lipgloss.Top, lipgloss.NewStyle().Width(s.w/2).Render(left), s.scoutView())
	} else if destTypes[s.cur] == groups.DestExisting {
		left += "\n\n" + s.scoutView()
	}
	b.WriteString(left)
	return strings.TrimRight(b.String(), "\n")
}

func (s *destination) detail(t string) string {
	g := s.group
	switch t {
	case groups.DestLocal:
		return "A real GoToSocial server on loopback with SQLite: nothing to pay, no\naccount needed. Launching runs the whole escape on it."
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
		b.WriteString(sBad.Render("prices: "+p.err.Error()) + "\n" + sMuted.Render("p to try again"))
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
				b.WriteString(fmt.Sprintf("  %-7s %s\n", t.Name, clip(t.Err, max(s.w-12, 10))))
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

// scoutView is where the existing server's scout results go. The scout
// (provision/existing) has not landed yet: the screen says how to check
// a server by hand meanwhile.
func (s *destination) scoutView() string {
	return sHeading.Render("Scout") + "\n" + sMuted.Render("Scouting a server (registrations, capacity,\nrules, software) is not available yet.\nCheck its /about page by hand meanwhile.")
}
