package tui

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/safetext"
	"github.com/lifeboat-social/lifeboat/lead"
	"github.com/lifeboat-social/lifeboat/provision/existing"
	"github.com/lifeboat-social/lifeboat/provision/existing/admission"
)

// The admission request, written from the destination screen for an
// existing server, as lifeboat request writes it (lead.Desk.Request):
// scouted, signed with the group's key, recorded where the admin's
// answer is looked for, written to the group's state directory, and
// optionally announced to the server's contact account by direct message.

var kRequest = key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "admission request"))

// requestAsk is what the request form asks.
type requestAsk struct {
	server, days, message string
	dm                    bool
}

// requestWrittenMsg is the request written, or why not; dmErr is the
// direct message's failure, the request being written all the same.
type requestWrittenMsg struct {
	group string
	asked lead.Asked
	dm    bool
	dmErr error
	err   error
}

// requestForm asks for the server (the picked scouted one, or the
// group's), the window's length, a note to the admin, and whether to
// announce the request by direct message.
func (s *destinationScreen) requestForm() tea.Cmd {
	s.ask = requestAsk{server: s.group.Destination.Server, days: "14"}
	if s.scouted != nil && len(s.scouted.fits) > 0 {
		s.ask.server = s.scouted.fits[s.pick].Report.URL
	}
	s.nd = groups.Destination{}
	s.requesting = true
	s.form = huh.NewForm(huh.NewGroup(
		huh.NewInput().Title("Server to ask").Placeholder("https://social.example").Value(&s.ask.server).Validate(nonEmpty("a server")),
		huh.NewInput().Title("Arrival window, in days from now").Value(&s.ask.days).Validate(func(v string) error {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err != nil || n < 1 || n > 365 {
				return errors.New("a number of days, 1 to 365")
			}
			return nil
		}),
		huh.NewInput().Title("A note to the admin (optional, signed with the request)").Value(&s.ask.message),
		huh.NewConfirm().Title("Also announce it to the server's contact account by direct message?").Value(&s.ask.dm),
	).Title("Admission request for " + safetext.Line(s.group.Title))).WithTheme(formTheme()).WithKeyMap(formKeys()).
		WithShowHelp(false).WithWidth(min(max(s.w, 40), 76))
	return s.form.Init()
}

// writeRequest writes the request the form asked for.
func (s *destinationScreen) writeRequest() tea.Cmd {
	d, g, file, a := s.d, s.group, s.path, s.ask
	days, _ := strconv.Atoi(strings.TrimSpace(a.days))
	return func() tea.Msg {
		msg := requestWrittenMsg{group: g.Name, dm: a.dm}
		if d.Desk == nil {
			msg.err = errors.New("no state store: the group's key is kept there")
			return msg
		}
		ctx, cancel := context.WithTimeout(d.ctx, time.Minute)
		defer cancel()
		now := d.now()
		msg.asked, msg.err = d.Desk.Request(ctx, lead.Ask{Group: g, File: file, Server: strings.TrimSpace(a.server),
			Window:  admission.Window{From: now, Until: now.Add(time.Duration(days) * 24 * time.Hour)},
			Message: strings.TrimSpace(a.message), Now: now, Scout: d.scout})
		if msg.err != nil || !a.dm {
			return msg
		}
		if d.AnnounceRequest == nil {
			msg.dmErr = fmt.Errorf("direct messages are sent by the command line here: lifeboat request %s --dm", d.shortPath(file))
			return msg
		}
		msg.dmErr = d.AnnounceRequest(ctx, msg.asked.Server, msg.asked.Request)
		return msg
	}
}

// requestView is the written request and what to do with it.
func (s *destinationScreen) requestView() string {
	w := s.written
	if w == nil {
		return ""
	}
	if w.err != nil {
		return sBad.Render(wrap("The admission request was not written: "+safetext.Line(w.err.Error()), min(max(s.w-2, 20), 76))) + "\n"
	}
	req, r := w.asked.Request, w.asked.Server
	rows := [][2]string{
		{"request", fmt.Sprintf("%d members to %s", req.Size, safetext.Line(r.URL))},
		{"file", s.d.shortPath(w.asked.Path)},
		{"window", req.Window.From.UTC().Format("2006-01-02 15:04") + " to " + req.Window.Until.UTC().Format("2006-01-02 15:04 MST")},
		{"fingerprint", req.Fingerprint() + " (tell the admin over another channel)"},
		{"send it to", safetext.Line(orNone(r.ContactLine())) + ", who runs lifeboat admin review"},
	}
	switch {
	case w.dm && w.dmErr == nil:
		rows = append(rows, [2]string{"announced", "by direct message to " + safetext.Line(r.Contact.Account)})
	case w.dm:
		rows = append(rows, [2]string{"announced", sBad.Render("no: " + safetext.Line(w.dmErr.Error()))})
	}
	var b strings.Builder
	b.WriteString(sHeading.Render("Admission request written") + "\n")
	b.WriteString(kv(rows) + "\n")
	if w.asked.Supersedes {
		b.WriteString(sWarn.Render("The admin accepted the previous request: this one needs a new acceptance.") + "\n")
	}
	if r.Registrations == existing.Closed {
		b.WriteString(sWarn.Render("Registrations there are closed: the admin must also invite the members.") + "\n")
	}
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "none published"
	}
	return s
}
