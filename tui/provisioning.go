package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/safetext"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/provision/destination"
)

// The provisioning screen: a progress bar and a scrolling log built from
// the destination's progress events, the DNS records to set shown
// prominently, cancelling with a confirmation, and errors with what to do.

// It reads EventMsg, jobStartedMsg and DoneMsg (tui.go).

const logLines = 500 // kept in the scrolling log

type provisioning struct {
	d       Deps
	group   *groups.Group
	w, h    int
	running bool
	ask     string // "start" | "cancel": a question on screen
	step    string // current step's title
	done    int
	total   int
	log     []string
	vp      viewport.Model
	dns     []string
	err     string
	cause   error // err as the job had it, for what to do
	ok      bool
}

func newProvisioning(d Deps) *provisioning {
	return &provisioning{d: d, vp: viewport.New(80, 5)}
}

func (s *provisioning) Busy() bool { return s.ask != "" }

func (s *provisioning) Keys() []key.Binding {
	if s.ask != "" {
		return []key.Binding{kYes, kNo}
	}
	if s.running {
		return []key.Binding{kCancel, kUp, kDown}
	}
	return []key.Binding{kUpStart, kUp, kDown}
}

func (s *provisioning) Update(msg tea.Msg) (screen, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		s.w, s.h = msg.Width, msg.Height
		s.layout()
	case groupLoadedMsg:
		if msg.group != nil {
			s.group = msg.group
		}
	case jobStartedMsg:
		s.running, s.err, s.cause, s.ok, s.dns = true, "", nil, false, nil
		s.step, s.done, s.total = "starting", 0, 0
		s.log = nil
		s.add(fmt.Sprintf("── %s started", msg.kind))
	case EventMsg:
		s.event(progress.Event(msg))
	case DoneMsg:
		s.running = false
		switch {
		case errors.Is(msg.Err, context.Canceled):
			s.err, s.cause = "cancelled. Press u to start again: what was made is reused, nothing is done twice.", msg.Err
		case msg.Err != nil:
			s.err, s.cause = msg.Err.Error(), msg.Err
		default:
			s.ok = true
			s.step = "done"
		}
		s.layout()
	case tea.KeyMsg:
		if s.ask != "" {
			q := s.ask
			s.ask = ""
			if !key.Matches(msg, kYes) {
				return s, nil
			}
			if q == "cancel" {
				return s, func() tea.Msg { return cancelJobMsg{} }
			}
			return s, func() tea.Msg { return startJobMsg{kind: jobProvision} }
		}
		switch {
		case key.Matches(msg, kCancel) && s.running:
			s.ask = "cancel"
		case key.Matches(msg, kUpStart) && !s.running && s.group != nil:
			s.ask = "start"
		default:
			var cmd tea.Cmd
			s.vp, cmd = s.vp.Update(msg)
			return s, cmd
		}
	}
	return s, nil
}

func (s *provisioning) event(e progress.Event) {
	switch e.Kind {
	case progress.StepStarted:
		s.step, s.done, s.total = e.Step, e.Done, e.Total
		if e.Message != "" {
			s.step = e.Message
		}
		s.add("==> " + s.step)
	case progress.Advanced:
		s.done, s.total = e.Done, e.Total
		if e.Step == "dns" && e.Item != "" {
			s.add("  resolves: " + e.Item)
		}
	case progress.Log:
		if e.Step == provision.StepDNSRecord {
			s.dns = append(s.dns, e.Message)
			s.layout()
			return
		}
		line := e.Message
		if e.Item != "" {
			line = e.Item + ": " + line
		}
		s.add("  " + line)
	case progress.StepDone:
		if e.Total > 0 {
			s.done, s.total = e.Total, e.Total
		}
		s.add("  " + e.Step + ": done")
	case progress.Failed:
		s.add("  " + e.Step + " failed: " + e.Message)
		s.err, s.cause = e.Message, e.Err
	}
}

func (s *provisioning) add(line string) {
	s.log = append(s.log, safetext.Line(line)) // Terraform's and the server's words
	if len(s.log) > logLines {
		s.log = s.log[len(s.log)-logLines:]
	}
	atEnd := s.vp.AtBottom() || s.vp.TotalLineCount() <= s.vp.Height
	s.vp.SetContent(strings.Join(s.log, "\n"))
	if atEnd {
		s.vp.GotoBottom()
	}
}

// layout gives the log what the header, the DNS box and errors leave.
func (s *provisioning) layout() {
	used := 5
	if len(s.dns) > 0 {
		used += len(s.dns) + 3
	}
	if s.err != "" {
		used += 4
	}
	s.vp.Width = max(s.w, 20)
	s.vp.Height = max(s.h-used, 3)
	s.vp.SetContent(strings.Join(s.log, "\n"))
	s.vp.GotoBottom()
}

func (s *provisioning) View() string {
	if s.group == nil {
		return "No group open."
	}
	var b strings.Builder
	state := "not started"
	switch {
	case s.running:
		state = "running"
	case s.ok:
		state = "ready"
	case s.err != "":
		state = "stopped"
	}
	b.WriteString(sHeading.Render("Provisioning: "+destSummary(s.group.Destination)) + "\n")
	b.WriteString(kv([][2]string{{"state", state}, {"step", safetext.Line(s.step)}}) + "\n")
	pct := ""
	if s.total > 0 {
		pct = fmt.Sprintf(" %d/%d", s.done, s.total)
	}
	b.WriteString(bar(min(s.w-12, 60), s.done, s.total) + pct + "\n")
	if len(s.dns) > 0 {
		b.WriteString(sBox.Render("Set these DNS records at your DNS provider now:\n"+safetext.Block(strings.Join(s.dns, "\n"))) + "\n")
	}
	if s.err != "" {
		b.WriteString(sBad.Render(clip("Error: "+safetext.Line(s.err), s.w)) + "\n")
		b.WriteString(clip(safetext.Line(whatToDo(s.cause)), s.w) + "\n")
	}
	switch s.ask {
	case "start":
		b.WriteString(sWarn.Render(s.startQuestion()) + "\n")
	case "cancel":
		b.WriteString(sWarn.Render("Cancel provisioning? What is made so far stays; u resumes. y/n") + "\n")
	}
	if len(s.log) == 0 && !s.running {
		b.WriteString(sMuted.Render("Press u to make the destination ready. Launching (pledges screen)\ndoes this by itself on the local destination.") + "\n")
	} else {
		b.WriteString(s.vp.View())
	}
	return strings.TrimRight(b.String(), "\n")
}

func (s *provisioning) startQuestion() string {
	if s.group.Destination.Type == groups.DestNew {
		return "Create the server on Hetzner Cloud now? It is billed from now on. y/n"
	}
	return "Make the destination ready now? y/n"
}

// whatToDo turns an error into the next step for the lead, by its type.
func whatToDo(err error) string {
	if errors.Is(err, context.Canceled) {
		return "What to do: press u to resume when ready."
	}
	switch destination.FixFor(err) {
	case destination.FixToken:
		return "What to do: check HCLOUD_TOKEN (a read-write token of the project), then press u."
	case destination.FixDNS:
		return "What to do: set the DNS records above, wait a few minutes, then press u."
	case destination.FixPlacement:
		return "What to do: pick another server type or location on the destination screen (3)."
	}
	return "What to do: fix the cause above and press u: finished steps are not done again."
}
