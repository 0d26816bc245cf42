package web

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/lifeboat-social/lifeboat/escape/arrival"
	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/escape/pledge"
)

// starter is the public record of a group that made it.
type starter struct {
	Group   string `json:"group"`
	Title   string `json:"title"`
	Server  string `json:"server"`
	Members int    `json:"members"`
	Arrived int    `json:"arrived"`
	// Remote is how many of the arrived keep their own accounts on other
	// servers; Accounts gives each one's address there.
	Remote    int             `json:"remote_members"`
	Launched  string          `json:"launched,omitempty"`
	Accounts  []starterMember `json:"accounts"`
	serverURL string
}

type starterMember struct {
	Acct string `json:"acct"`
	Name string `json:"name"` // first name only
}

// starterPack lists the arrived members who agreed to be listed; false
// before launch.
func (s *Server) starterPack(ctx context.Context) (starter, bool, error) {
	sg, err := s.st.Groups().Get(ctx, s.g.Name)
	if err != nil {
		return starter{}, false, err
	}
	if sg.State != pledge.StateLaunched && sg.State != pledge.StateArrived {
		return starter{}, false, nil
	}
	accts, err := s.st.Accounts().List(ctx, s.g.Name)
	if err != nil {
		return starter{}, false, err
	}
	ps, err := s.st.Pledges().List(ctx, s.g.Name)
	if err != nil {
		return starter{}, false, err
	}
	listed := map[string]bool{}
	for _, p := range ps {
		if p.ShowName && !p.Withdrawn {
			listed[strings.ToLower(p.Email)] = true
		}
	}
	r, err := campaign.Roster(ctx, s.st, s.g)
	if err != nil {
		return starter{}, false, err
	}
	out := starter{Group: s.g.Name, Title: s.g.Title, Members: len(r.Members), Accounts: []starterMember{}}
	if !sg.LaunchedAt.IsZero() {
		out.Launched = sg.LaunchedAt.UTC().Format("2006-01-02")
	}
	out.serverURL = s.destination()
	for _, a := range accts {
		m, ok := r.Member(a.Email)
		if !ok || (a.Username == "" && a.Acct == "") || a.Waiting {
			continue // not arrived: an account connected elsewhere waits for them
		}
		out.Arrived++
		if a.Remote(out.serverURL) {
			out.Remote++
		}
		if listed[strings.ToLower(a.Email)] {
			// a remote member is followed where their account lives
			out.Accounts = append(out.Accounts, starterMember{Acct: arrival.Address(a), Name: firstName(m.Name)})
		}
	}
	out.Server = hostOf(out.serverURL)
	return out, true, nil
}

// destination is the base URL of the server the group arrives on: the
// arrival engine's, else the one the group file names; "" while neither
// knows it (a local server not started yet).
func (s *Server) destination() string {
	if s.cfg.Arrivals != nil {
		if u := s.cfg.Arrivals.Destination(); u != "" {
			return u
		}
	}
	return arrival.FileDestination(s.g)
}

func hostOf(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return u
	}
	return p.Host
}

type madeItView struct {
	Server, ServerURL, LaunchedAt string
	Arrived, Members, Remote      int
	Accounts                      []string
	// Gathering are the other groups of the directory still gathering:
	// the people who made it are their advance party.
	Gathering []Listing
	// Next is the command that starts the next group on the same server.
	Next string
}

func (s *Server) madeIt(w http.ResponseWriter, r *http.Request) {
	sp, ok, err := s.starterPack(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if !ok {
		s.errorPage(w, r, http.StatusNotFound, "Not yet", "The group has not moved yet. See the group's page for how close it is.")
		return
	}
	v := madeItView{Server: sp.Server, ServerURL: sp.serverURL, LaunchedAt: sp.Launched, Arrived: sp.Arrived, Members: sp.Members, Remote: sp.Remote}
	for _, a := range sp.Accounts {
		v.Accounts = append(v.Accounts, a.Name+" — @"+a.Acct)
	}
	v.Next = "lifeboat init next-group.yaml --server " + sp.serverURL
	if s.dir != nil {
		if v.Gathering, err = s.dir.gathering(r.Context(), s.g.Name); err != nil {
			s.internal(w, r, err)
			return
		}
	}
	w.Header().Set("Cache-Control", "public, max-age=60")
	s.render(w, nil, http.StatusOK, "madeit", s.g.Title+" made it", v)
}

// arrivedOnly serves h with the starter pack once the group has moved,
// and 404 before.
func (s *Server) arrivedOnly(h func(http.ResponseWriter, starter)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sp, ok, err := s.starterPack(r.Context())
		if err != nil {
			s.internal(w, r, err)
			return
		}
		if !ok {
			http.NotFound(w, r)
			return
		}
		h(w, sp)
	}
}

// followsCSV is the group in Mastodon's follow import format.
func (s *Server) followsCSV(w http.ResponseWriter, sp starter) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+s.g.Name+`-follows.csv"`)
	cw := csv.NewWriter(w)
	cw.Write([]string{"Account address", "Show boosts", "Notify on new posts", "Languages"})
	for _, a := range sp.Accounts {
		cw.Write([]string{a.Acct, "true", "false", ""})
	}
	cw.Flush()
}

func (s *Server) groupJSON(w http.ResponseWriter, sp starter) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(sp)
}
