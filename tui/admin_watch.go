package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/lifeboat-social/lifeboat/internal/safetext"
	"github.com/lifeboat-social/lifeboat/provision/existing/admission"
)

// The admin screen's watcher: the admin token read in a job, the
// watch set-up shared with lifeboat admin watch, and the log of verdicts.

// startWatch asks the root for the watcher job. Reading the token is I/O:
// it happens in the job, which ends at once saying what is missing.
func (s *admin) startWatch() tea.Cmd {
	s.wErr, s.wMissing = "", ""
	if s.d.AdminToken == nil {
		s.wMissing = "the admin token is read by the command line here: run lifeboat admin watch --server " + s.wServer
		return nil
	}
	if s.d.Desk == nil {
		s.wMissing = "the store (state directory) is not available: the watcher needs the recorded decisions"
		return nil
	}
	s.watching = true
	s.wLog = nil
	s.view = viewWatch
	s.layout()
	return func() tea.Msg {
		return startJobMsg{kind: jobWatch, run: watchJob(s.d, s.wServer, strings.TrimSpace(s.wTokenFile), s.wMode == watchDry)}
	}
}

// missingToken is the admin token's absence or unsafety, said as the
// admin must fix it.
type missingToken struct{ err error }

func (e missingToken) Error() string { return e.err.Error() }
func (e missingToken) Unwrap() error { return e.err }

// watchJob is the watcher as lifeboat admin watch runs it: the token,
// its scopes, then a poll every interval, each new verdict sent once.
func watchJob(d Deps, server, tokenFile string, dry bool) func(ctx context.Context, send func(tea.Msg)) error {
	interval := d.WatchInterval
	if interval <= 0 {
		interval = 30 * time.Second
	}
	return func(ctx context.Context, send func(tea.Msg)) error {
		tok, err := d.AdminToken(tokenFile)
		if err != nil {
			return missingToken{err}
		}
		w, accepted, err := admission.StartWatch(ctx, d.Desk.Journal(), server, tok, dry)
		if err != nil {
			return err
		}
		mode := ""
		if dry {
			mode = " (dry run)"
		}
		send(watchLineMsg{at: d.now(), note: fmt.Sprintf("watching %s every %s%s; %d accepted %s", server, interval, mode,
			accepted, plural(accepted, "group", "groups"))})
		if accepted == 0 {
			send(watchLineMsg{at: d.now(), note: "no accepted admission request for this server yet: every sign-up is left for you"})
		}
		w.Now = d.Now
		return w.Watch(ctx, interval, func(v admission.Verdict) {
			send(watchLineMsg{at: d.now(), verdict: &v})
		})
	}
}

func (s *admin) addLog(m watchLineMsg) {
	line := m.at.UTC().Format("15:04:05") + "  "
	switch {
	case m.verdict != nil:
		line += safetext.Line(m.verdict.String()) // usernames are the server's
	default:
		line += safetext.Line(m.note)
	}
	s.wLog = append(s.wLog, line)
	if len(s.wLog) > logLines {
		s.wLog = s.wLog[len(s.wLog)-logLines:]
	}
	atEnd := s.vp.AtBottom() || s.vp.TotalLineCount() <= s.vp.Height
	s.vp.SetContent(s.logContent())
	if atEnd {
		s.vp.GotoBottom()
	}
}

// logContent is the log with long lines wrapped under their text.
func (s *admin) logContent() string {
	var out []string
	for _, l := range s.wLog {
		if len([]rune(l)) <= s.vp.Width {
			out = append(out, l)
			continue
		}
		w := wrap(l[10:], s.vp.Width-10)
		out = append(out, l[:10]+strings.ReplaceAll(w, "\n", "\n"+strings.Repeat(" ", 10)))
	}
	return strings.Join(out, "\n")
}

// layout gives the watcher's log what its header leaves.
func (s *admin) layout() {
	used := 5
	if s.wErr != "" {
		used += 3
	}
	s.vp.Width = max(s.w, 20)
	s.vp.Height = max(s.h-used, 3)
	s.vp.SetContent(s.logContent())
	s.vp.GotoBottom()
}

func (s *admin) watchView() string {
	var b strings.Builder
	state := "not running"
	switch {
	case s.watching && s.wMode == watchDry:
		state = "running, dry run: nothing is approved"
	case s.watching:
		state = "running: approving sign-ups with a valid proof"
	case s.wErr != "":
		state = "stopped"
	}
	server := s.wServer
	if server == "" {
		server = "(not chosen)"
	}
	b.WriteString(sHeading.Render("Admin: the watcher") + "\n")
	b.WriteString(kv([][2]string{{"server", safetext.Line(server)}, {"state", state}}) + "\n")
	if s.wMissing != "" {
		b.WriteString(sBad.Render(wrap("Missing: "+safetext.Line(s.wMissing), s.w)) + "\n")
	}
	if s.wMissing != "" && s.d.AdminToken != nil {
		b.WriteString(wrap("What to do: export LIFEBOAT_ADMIN_TOKEN (a token with admin:read:accounts and admin:write:accounts) "+
			"and restart, or give a token file that only you can read (chmod 600), then press u.", s.w) + "\n")
	} else if s.wErr != "" && s.wMissing == "" {
		b.WriteString(sBad.Render(clip("Error: "+safetext.Line(s.wErr), s.w)) + "\n")
	}
	if s.ask == "watch" {
		b.WriteString(sWarn.Render(wrap("Approve pending sign-ups on "+safetext.Line(s.wServer)+" that carry a valid proof, for real? y/n", s.w)) + "\n")
	}
	if s.ask == "stop" {
		b.WriteString(sWarn.Render("Stop the watcher? Sign-ups then wait for you. y/n") + "\n")
	}
	if len(s.wLog) == 0 && !s.watching {
		b.WriteString("\n" + sMuted.Render(wrap("Press u to watch your server's pending sign-ups: the watcher approves exactly "+
			"those whose reason carries a valid proof of an accepted group's member, and leaves every other sign-up for you. "+
			"A dry run only shows what it would do.", s.w)))
		return b.String()
	}
	b.WriteString(s.vp.View())
	return strings.TrimRight(b.String(), "\n")
}
