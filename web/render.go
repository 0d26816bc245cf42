package web

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	texttemplate "text/template"

	"github.com/lifeboat-social/lifeboat/internal/mailer"
)

//go:embed templates
var templateFS embed.FS

var (
	pages     = map[string]*template.Template{}
	mailText  = map[string]*texttemplate.Template{}
	mailHTML  = map[string]*template.Template{}
	staticCSS []byte
)

var funcs = template.FuncMap{
	"plural": func(n int, one, many string) string {
		if n == 1 {
			return one
		}
		return many
	},
	// handleField bundles one handle input for the join form's
	// "handle" template.
	"handleField": func(id, label, example, value, err string) map[string]string {
		return map[string]string{"ID": id, "Label": label, "Example": example, "Value": value, "Error": err}
	},
	"percent": func(a, b int) int {
		if b <= 0 {
			return 0
		}
		return min(100, a*100/b)
	},
}

func init() {
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/*.tmpl"))
	names, _ := fs.Glob(templateFS, "templates/*.html")
	for _, n := range names {
		base := strings.TrimSuffix(n[len("templates/"):], ".html")
		if base == "layout" {
			continue
		}
		pages[base] = template.Must(template.Must(layout.Clone()).ParseFS(templateFS, n))
	}
	txt, _ := fs.Glob(templateFS, "templates/mail/*.txt")
	for _, n := range txt {
		base := strings.TrimSuffix(n[len("templates/mail/"):], ".txt")
		mailText[base] = texttemplate.Must(texttemplate.New(base+".txt").ParseFS(templateFS, n))
		mailHTML[base] = template.Must(template.New(base+".html").Funcs(funcs).ParseFS(templateFS, "templates/mail/mail.html", "templates/mail/"+base+".html"))
	}
	staticCSS, _ = templateFS.ReadFile("templates/static/style.css")
}

// view is what every page template gets.
type view struct {
	Base    string // the group's path prefix, before every link
	Title   string
	Refresh int        // seconds; the page reloads itself (no script needed)
	OG      *openGraph // link preview tags, on the pages people share
	Group   groupView
	CSRF    string
	Data    any
}

type groupView struct {
	Name, Title, Description, Destination, Deadline, Lead string
	Rules                                                 []string
	Joinable                                              bool // the join page takes sign-ups
}

func (s *Server) groupView() groupView {
	return groupView{
		Name: s.g.Name, Title: s.g.Title, Description: s.g.Description, Lead: s.g.Lead.Name,
		Destination: destinationText(s.g.Destination), Deadline: deadlineText(s.g.Deadline), Rules: s.cfg.Rules,
		Joinable: s.joinable(),
	}
}

// render writes page name with status. Personal pages are not cached.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	s.renderEvery(w, r, status, name, title, 0, data)
}

// renderEvery is render for a page that reloads itself every refresh
// seconds: a member waiting for a step that happens elsewhere (the
// server's approval, another browser) sees it without doing anything.
func (s *Server) renderEvery(w http.ResponseWriter, r *http.Request, status int, name, title string, refresh int, data any) {
	t, ok := pages[name]
	if !ok {
		panic("web: no page " + name)
	}
	v := view{Base: s.base, Title: title, Refresh: refresh, Group: s.groupView(), Data: data}
	ctx := context.Background() // the landing page renders without its request
	if r != nil {
		v.CSRF = s.csrfToken(w, r)
		ctx = r.Context()
	}
	if page, ok := shared[name]; ok {
		og, err := s.openGraph(ctx, page)
		if err != nil {
			s.log.Error("render", "page", name, "err", err)
		}
		v.OG = og
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		s.log.Error("render", "page", name, "err", err)
		http.Error(w, "Something went wrong on our side.", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

type errorView struct{ Heading, Message string }

// errorPage answers with a short page that says what happened and what to
// do; never with the input echoed.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, heading, msg string) {
	s.render(w, nil, status, "error", heading, errorView{Heading: heading, Message: msg})
}

// mailMessage renders mail template name (text and HTML) for to.
func (s *Server) mailMessage(name, to, subject string, data map[string]any) (mailer.Message, error) {
	data["Group"] = s.g.Title
	data["Lead"] = s.g.Lead.Name
	data["Destination"] = destinationText(s.g.Destination)
	// Whoever joined from the join page can always take themselves off,
	// with everything they gave, from any mail.
	leave := s.leaveLink(to)
	data["Leave"] = leave
	var txt, html bytes.Buffer
	if err := mailText[name].Execute(&txt, data); err != nil {
		return mailer.Message{}, fmt.Errorf("render mail %s: %w", name, err)
	}
	if leave != "" {
		fmt.Fprintf(&txt, "\n--\nTo leave %s and delete everything you gave us (name, email,\nhandles, pledge), open this link:\n%s\n", s.g.Title, leave)
	}
	data["Subject"] = subject
	if err := mailHTML[name].ExecuteTemplate(&html, "mail.html", data); err != nil {
		return mailer.Message{}, fmt.Errorf("render mail %s: %w", name, err)
	}
	return mailer.Message{To: to, Subject: subject, Text: txt.String(), HTML: html.String()}, nil
}
