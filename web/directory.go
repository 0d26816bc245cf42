package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/escape/invite"
	"github.com/lifeboat-social/lifeboat/escape/pledge"
	"github.com/lifeboat-social/lifeboat/groups"
)

var directoryPage = template.Must(template.New("index.html").Funcs(funcs).ParseFS(templateFS, "templates/directory/index.html"))

// GroupBaseURL is the public URL of group name's pages in a directory
// whose own URL is base: each group lives under /g/NAME/.
func GroupBaseURL(base, name string) string {
	return strings.TrimRight(base, "/") + "/g/" + name
}

// DirectoryConfig is what a directory of several groups needs. Each
// server must have been built with BaseURL GroupBaseURL(BaseURL, name).
type DirectoryConfig struct {
	BaseURL    string
	Servers    []*Server
	PageRate   int // requests per IP per minute on the directory's own pages; 0: 240, negative: no limit
	TrustProxy bool
	Log        *slog.Logger
	Now        func() time.Time
}

// Directory serves several groups from one process: "/" lists the
// groups that are gathering, by topic, and each group keeps its own
// pages, tokens and keys under /g/NAME/. Links mailed when a group was
// served alone (at the root) are sent on to the group they belong to.
type Directory struct {
	cfg     DirectoryConfig
	servers []*Server // by name
	limit   *limiter
	handler http.Handler
}

// NewDirectory checks that every server lives at its place under
// BaseURL and builds the directory.
func NewDirectory(cfg DirectoryConfig) (*Directory, error) {
	if len(cfg.Servers) == 0 {
		return nil, errors.New("web: a directory needs at least one group")
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
		return nil, fmt.Errorf("web: directory URL %q: want http(s)://host[:port]", cfg.BaseURL)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	d := &Directory{cfg: cfg, servers: slices.Clone(cfg.Servers), limit: newLimiter(rateOr(cfg.PageRate, 240))}
	slices.SortFunc(d.servers, func(a, b *Server) int { return strings.Compare(a.g.Name, b.g.Name) })
	for i, s := range d.servers {
		if i > 0 && d.servers[i-1].g.Name == s.g.Name {
			return nil, fmt.Errorf("web: group %s is served twice", s.g.Name)
		}
		if want := GroupBaseURL(cfg.BaseURL, s.g.Name); s.cfg.BaseURL != want {
			return nil, fmt.Errorf("web: group %s has base URL %s; in a directory it must be %s", s.g.Name, s.cfg.BaseURL, want)
		}
		s.dir = d
	}
	d.handler = d.routes(u.Scheme == "https")
	return d, nil
}

// Handler is the directory's HTTP handler.
func (d *Directory) Handler() http.Handler { return d.handler }

func (d *Directory) routes(secure bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", d.index)
	mux.HandleFunc("GET /healthz", d.servers[0].healthz)
	mux.HandleFunc("GET /static/style.css", serveCSS)
	for _, s := range d.servers {
		mux.Handle("/g/"+s.g.Name+"/", http.StripPrefix(s.base, s.Handler()))
	}
	// Links from the time a group was served alone, at the root.
	for path, purpose := range map[string]invite.Purpose{"/pledge/": invite.Pledge, "/confirm/": invite.Confirm, "/invite/": invite.Invite} {
		mux.HandleFunc(path+"{token}", d.movedBy(func(r *http.Request) *Server { return d.tokenOwner(purpose, r.PathValue("token")) }))
	}
	for _, path := range []string{"/arrive", "/callback"} {
		mux.HandleFunc(path, d.movedBy(d.arrivalOwner))
	}
	for _, path := range []string{"/made-it", "/made-it/follows.csv", "/made-it/group.json"} {
		mux.HandleFunc("GET "+path, d.movedBy(d.onlyMoved))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if allow := allowed(mux, r); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			d.page(w, http.StatusMethodNotAllowed, directoryView{Heading: "Method not allowed", Message: "This page cannot be used that way."})
			return
		}
		d.notFound(w, r)
	})
	return secureHeaders(secure, d.throttle(mux))
}

func serveCSS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(staticCSS)
}

// throttle applies the per-IP page limit to the directory's own pages;
// each group's pages have their group's limits.
func (d *Directory) throttle(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/g/") && !d.limit.allow(clientIP(r, d.cfg.TrustProxy), d.cfg.Now()) {
			w.Header().Set("Retry-After", "60")
			d.page(w, http.StatusTooManyRequests, directoryView{Heading: "Too many requests",
				Message: "Too many requests came from your network in the last minute. Please wait a minute and try again."})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// movedBy sends a request for an old root path on to the group owner
// names, keeping the method (a form posted from a page opened before the
// move still arrives) and the query; without an owner it is not found.
func (d *Directory) movedBy(owner func(*http.Request) *Server) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := owner(r)
		if s == nil {
			d.notFound(w, r)
			return
		}
		u := s.path(r.URL.Path)
		if r.URL.RawQuery != "" {
			u += "?" + r.URL.RawQuery
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, u, http.StatusTemporaryRedirect)
	}
}

// tokenOwner is the group whose key signed tok, expired or not: the
// token names its group, and only that group's key verifies it.
func (d *Directory) tokenOwner(purpose invite.Purpose, tok string) *Server {
	for _, s := range d.servers {
		c, err := invite.Parse(s.pub, purpose, tok, s.now())
		if (err == nil || errors.Is(err, invite.ErrExpired)) && c.Group == s.g.Name {
			return s
		}
	}
	return nil
}

// arrivalOwner is the group whose signed arrival cookie this browser
// holds.
func (d *Directory) arrivalOwner(r *http.Request) *Server {
	for _, s := range d.servers {
		if _, ok := s.getArrival(r); ok {
			return s
		}
	}
	return nil
}

// onlyMoved is the one served group that has moved, if only one has: the
// old /made-it then means it.
func (d *Directory) onlyMoved(r *http.Request) *Server {
	var found *Server
	for _, s := range d.servers {
		sg, err := s.st.Groups().Get(r.Context(), s.g.Name)
		if err != nil || (sg.State != pledge.StateLaunched && sg.State != pledge.StateArrived) {
			continue
		}
		if found != nil {
			return nil
		}
		found = s
	}
	return found
}

// Listing is one group as the directory shows it.
type Listing struct {
	Name, Title, Description string
	Tags                     []string
	State                    string
	Home, Join, MadeIt       string // absolute links
	Going, ViableMass, Need  int
	Standing                 string
	// Ahead of the group's people already have an account on its
	// destination, AheadOn, from a group that arrived there: its
	// advance party.
	Ahead   int
	AheadOn string
}

// Listings is every served group with its standing, by name.
func (d *Directory) Listings(ctx context.Context) ([]Listing, error) {
	onHost, err := d.arrivedByHost(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Listing, 0, len(d.servers))
	for _, s := range d.servers {
		st, err := s.Status(ctx)
		if err != nil {
			return nil, err
		}
		l := Listing{Name: s.g.Name, Title: s.g.Title, Description: s.g.Description, Tags: s.g.Tags, State: st.State,
			Home: s.link("/"), Join: s.JoinURL(), Going: st.Outlook.Going, ViableMass: s.g.ViableMass,
			Need: st.Outlook.NeedForViable, Standing: campaign.Standing(st)}
		if st.State == pledge.StateLaunched || st.State == pledge.StateArrived {
			l.MadeIt = s.link("/made-it")
		}
		if host := destinationHost(s.g.Destination); host != "" && st.State == pledge.StateGathering {
			ms, err := s.st.Members().List(ctx, s.g.Name)
			if err != nil {
				return nil, err
			}
			for _, m := range ms {
				if onHost[host][strings.ToLower(m.Email)] {
					l.Ahead++
				}
			}
			l.AheadOn = host
		}
		out = append(out, l)
	}
	return out, nil
}

// arrivedByHost is, for each destination host, the emails of the people
// of the served groups who have arrived with an account there.
func (d *Directory) arrivedByHost(ctx context.Context) (map[string]map[string]bool, error) {
	out := map[string]map[string]bool{}
	for _, s := range d.servers {
		accts, err := s.st.Accounts().List(ctx, s.g.Name)
		if err != nil {
			return nil, err
		}
		for _, a := range accts {
			if a.Username == "" || a.Waiting {
				continue // not arrived: a connected account waits for them
			}
			h := hostOf(a.Server)
			if out[h] == nil {
				out[h] = map[string]bool{}
			}
			out[h][strings.ToLower(a.Email)] = true
		}
	}
	return out, nil
}

// destinationHost is the host a group's people will have their accounts
// on, when it is known before the launch: an existing server, or the
// domain of a new one. The local trial server has none.
func destinationHost(d groups.Destination) string {
	switch d.Type {
	case groups.DestExisting:
		return hostOf(d.Server)
	case groups.DestNew:
		return d.Domain
	}
	return ""
}

// Gathering is the groups still gathering, except the one named.
func (d *Directory) gathering(ctx context.Context, except string) ([]Listing, error) {
	all, err := d.Listings(ctx)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(l Listing) bool { return l.State != pledge.StateGathering || l.Name == except }), nil
}

type topic struct {
	Tag    string
	Groups []Listing
}

type directoryView struct {
	Heading, Message string
	Topics           []topic
	Untagged, Moved  []Listing
}

func (d *Directory) index(w http.ResponseWriter, r *http.Request) {
	all, err := d.Listings(r.Context())
	if err != nil {
		d.cfg.Log.Error("directory", "err", err)
		d.page(w, http.StatusInternalServerError, directoryView{Heading: "Something went wrong", Message: "Something went wrong on our side. Please try again in a moment."})
		return
	}
	v := directoryView{Heading: "Groups gathering here"}
	byTag := map[string][]Listing{}
	for _, l := range all {
		switch {
		case l.MadeIt != "":
			v.Moved = append(v.Moved, l)
		case l.State != pledge.StateGathering:
		case len(l.Tags) == 0:
			v.Untagged = append(v.Untagged, l)
		default:
			for _, t := range l.Tags {
				byTag[t] = append(byTag[t], l)
			}
		}
	}
	for _, t := range slices.Sorted(maps.Keys(byTag)) {
		v.Topics = append(v.Topics, topic{Tag: t, Groups: byTag[t]})
	}
	w.Header().Set("Cache-Control", "public, max-age=60")
	d.page(w, http.StatusOK, v)
}

func (d *Directory) notFound(w http.ResponseWriter, _ *http.Request) {
	d.page(w, http.StatusNotFound, directoryView{Heading: "Page not found",
		Message: "There is no page at this address. Each group has its pages under /g/ and its name: find it in the list of groups."})
}

func (d *Directory) page(w http.ResponseWriter, status int, v directoryView) {
	var buf bytes.Buffer
	if err := directoryPage.Execute(&buf, v); err != nil {
		d.cfg.Log.Error("render directory", "err", err)
		http.Error(w, "Something went wrong on our side.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if w.Header().Get("Cache-Control") == "" {
		w.Header().Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
