package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/lifeboat-social/lifeboat/internal/safetext"
	"github.com/lifeboat-social/lifeboat/provision/existing/admission"
)

// The admin screen's request view: a request read from a file, its
// one-line form or the store, checked, with the asked server scouted, and
// the decision recorded as lifeboat admin review records it.

// readRequest reads a request from a file or its one-line form, as
// lifeboat admin review does (links and stdin stay with the command).
func readRequest(d Deps, arg string) tea.Cmd {
	return func() tea.Msg {
		var data []byte
		source := arg
		if strings.HasPrefix(arg, admission.TokenPrefix) {
			data, source = []byte(arg), "the one-line form"
		} else {
			b, err := os.ReadFile(d.absPath(arg))
			if err != nil {
				return requestMsg{err: err}
			}
			data = b
		}
		req, verr := admission.Decode(data)
		if req == nil {
			return requestMsg{err: fmt.Errorf("read the request: %w", verr)}
		}
		return withDecision(d, requestMsg{source: source, req: req, verr: verr})
	}
}

// showRequest shows a request from the store, checked again.
func showRequest(d Deps, source string, req *admission.Request) tea.Cmd {
	return func() tea.Msg {
		return withDecision(d, requestMsg{source: source, req: req, verr: req.Verify()})
	}
}

func withDecision(d Deps, msg requestMsg) requestMsg {
	if d.Desk == nil {
		return msg
	}
	msg.dec, msg.err = d.Desk.Decision(d.ctx, msg.req.ID())
	return msg
}

// scoutServer reads the asked server's active users and current rules.
func scoutServer(d Deps, req *admission.Request) tea.Cmd {
	id, server := req.ID(), req.Server
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(d.ctx, 45*time.Second)
		defer cancel()
		r, err := d.scout(ctx, server)
		return serverScoutMsg{id: id, report: r, err: err}
	}
}

// decide records the decision with admission.Decide and writes the
// signed answer for the lead, exactly as lifeboat admin review
// --accept/--reject does, and reads the decision back.
func decide(d Deps, req *admission.Request, accept bool, message string) tea.Cmd {
	return func() tea.Msg {
		if d.Desk == nil {
			return decidedMsg{err: errors.New("no store: the state directory is not available")}
		}
		ctx := d.ctx
		j := d.Desk.Journal()
		if err := admission.Decide(ctx, j, req, accept, message, d.now()); err != nil {
			return decidedMsg{id: req.ID(), err: err}
		}
		_, file, err := admission.WriteAnswer(d.StateDir, "", req.ID(), req.Server, req.Group.Name, accept, message, d.now())
		if err != nil {
			return decidedMsg{id: req.ID(), err: err}
		}
		if rel, err := filepath.Rel(d.StateDir, file); err == nil {
			file = rel
		}
		dec, err := admission.DecisionFor(ctx, j, req.ID())
		return decidedMsg{id: req.ID(), dec: dec, answer: file, err: err}
	}
}

func (s *admin) requestView() string {
	r := s.req
	var b strings.Builder
	b.WriteString(sHeading.Render(clip(safetext.Line("Admission request "+r.ID()+" to "+r.Server), s.w)) + "\n")
	var rows [][2]string
	if s.verr != nil {
		rows = append(rows, [2]string{"signature", sBad.Render("INVALID: " + safetext.Line(s.verr.Error()))})
	} else {
		rows = append(rows, [2]string{"signature", sGood.Render("valid") + ": signed by the key below; check it with the lead"})
	}
	rows = append(rows,
		[2]string{"fingerprint", r.Fingerprint()},
		// everything in a request comes from outside
		[2]string{"group", safetext.Line(fmt.Sprintf("%s (%s)", r.Group.Title, r.Group.Name))},
		[2]string{"lead", safetext.Line(fmt.Sprintf("%s <%s>", r.Lead.Name, r.Lead.Email))},
		[2]string{"size", s.sizeLine()},
		[2]string{"window", fmt.Sprintf("%s to %s (%s)", shortTime(r.Window.From), shortTime(r.Window.Until), windowState(r.Window, s.d.now()))},
	)
	if r.Message != "" {
		rows = append(rows, [2]string{"message", clip(safetext.Line(r.Message), max(s.w-14, 10))})
	}
	rows = append(rows, [2]string{"rules", fmt.Sprintf("the group accepts %d:", len(r.Rules))})
	var ruleRows, more [][2]string
	for i, rule := range r.Rules {
		ruleRows = append(ruleRows, [2]string{"", clip(fmt.Sprintf("%d. %s", i+1, safetext.Line(rule)), max(s.w-14, 10))})
	}
	switch {
	case s.scouting:
		more = append(more, [2]string{"rules now", "reading the server's current rules…"})
	case s.scoutErr != nil:
		more = append(more, [2]string{"rules now", clip("not checked: "+safetext.Line(s.scoutErr.Error()), max(s.w-14, 10))})
	case s.report != nil:
		missing := r.MissingRules(s.report.Rules)
		if len(missing) == 0 {
			more = append(more, [2]string{"rules now", fmt.Sprintf("the group accepted all %d of your current rules", len(s.report.Rules))})
		} else {
			more = append(more, [2]string{"rules now", sWarn.Render(fmt.Sprintf("%d of your current rules are not in the request:", len(missing)))})
			for _, m := range missing {
				more = append(more, [2]string{"", clip("- "+safetext.Line(m), max(s.w-13, 10))})
			}
		}
	}
	dec := "none yet"
	if d := s.dec; d != nil {
		dec = "rejected"
		if d.Accepted {
			dec = "accepted"
		}
		dec += " on " + shortTime(d.At)
		if d.Message != "" {
			dec += safetext.Line(fmt.Sprintf(" (%q)", d.Message))
		}
	}
	more = append(more, [2]string{"decision", dec})
	foot := ""
	switch {
	case s.ask == "accept" || s.ask == "reject":
		q := fmt.Sprintf("%s %s (%d members) on %s", capitalise(s.ask), safetext.Line(r.Group.Title), r.Size, safetext.Line(r.Server))
		if s.message != "" {
			q += safetext.Line(fmt.Sprintf(" with the message %q", s.message))
		}
		foot = "\n" + sWarn.Render(wrap(q+"? y/n", s.w))
	case s.decided != "":
		foot = "\n" + sGood.Render(wrap(safetext.Line(s.decided), s.w))
	case s.verr != nil:
		foot = "\n" + sBad.Render(wrap("This request does not verify: it cannot be accepted. Ask the lead to send it again.", s.w))
	}
	// the question and the decision always show: a long list of rules
	// gives way
	room := s.h - 1 - len(rows) - len(more) - strings.Count(foot, "\n") - 1
	if len(ruleRows) > room {
		n := max(room-1, 0)
		ruleRows = append(ruleRows[:n], [2]string{"", fmt.Sprintf("… %d more (a taller terminal shows them)", len(r.Rules)-n)})
	}
	rows = append(append(rows, ruleRows...), more...)
	b.WriteString(kv(rows) + "\n" + foot)
	return strings.TrimRight(b.String(), "\n")
}

func (s *admin) sizeLine() string {
	r := s.req
	size := fmt.Sprintf("%d members", r.Size)
	switch {
	case s.scouting:
		size += " (reading your server's active users…)"
	case s.report != nil && s.report.ActiveUsers > 0:
		a := s.report.ActiveUsers
		size += fmt.Sprintf(", %d%% of your %d active users", r.SharePercent(a), a)
	case s.report != nil:
		size += " (your server publishes no active users)"
	}
	return size
}

func shortTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

func windowState(w admission.Window, now time.Time) string {
	switch {
	case now.Before(w.From):
		d := w.From.Sub(now)
		if d >= 48*time.Hour {
			return fmt.Sprintf("opens in %d days", int(d.Hours()/24))
		}
		return "opens in " + d.Round(time.Minute).String()
	case now.After(w.Until):
		return "ended"
	}
	return "open now"
}
