// Package existing is the destination for a group that joins a server it
// does not run: scouting servers (what they run, whether sign-ups are
// open, need approval or are closed, their rules and size), judging and
// ranking how well each fits the group, and the member's sign-up with an
// admission proof (see package admission for the request the admin
// accepts and the watcher that approves members).
package existing

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/fedi"
)

// Registrations values.
const (
	Open     = "open"     // anyone may sign up and use the account at once
	Approval = "approval" // sign-ups wait for an admin: the admission request's case
	Closed   = "closed"   // no sign-ups; only the admin can let people in
)

// Report is what scouting found. Its JSON has exactly the keys software,
// version, registrations, rules, active_users, languages and contact;
// the other fields are for the plain report and the fit judgement.
type Report struct {
	Software      string   `json:"software"` // nodeinfo's name: mastodon, gotosocial, …
	Version       string   `json:"version"`
	Registrations string   `json:"registrations"` // Open, Approval or Closed
	Rules         []string `json:"rules"`
	ActiveUsers   int      `json:"active_users"` // monthly
	Languages     []string `json:"languages"`
	Contact       Contact  `json:"contact"`

	URL            string `json:"-"` // base URL scouted
	Domain         string `json:"-"`
	Title          string `json:"-"`
	MaxCharacters  int    `json:"-"` // per status
	ReasonRequired bool   `json:"-"` // sign-ups must give a reason
	SignUpURL      string `json:"-"` // a sign-up page elsewhere, if the server names one
	MinAge         int    `json:"-"` // the server's minimum age (Mastodon 4.4+); 0 when it sets none
	Message        string `json:"-"` // the server's registrations message
	TotalUsers     int    `json:"-"`
	// DomainBlocks is the number of publicly listed blocked domains, or
	// -1 when the server does not show them.
	DomainBlocks int `json:"-"`
}

// Contact is the server's contact.
type Contact struct {
	Email   string `json:"email"`
	Account string `json:"account"` // @user@domain, or "" when none
}

// Errors of Scout, wrapped in a one-line message naming the server.
var (
	ErrNotMastodon = errors.New("not a Mastodon-API server")
	ErrNoAnswer    = errors.New("does not answer")
)

// ScoutError is a scouting failure: the server and one line saying why.
type ScoutError struct {
	URL  string
	Kind error // ErrNotMastodon or ErrNoAnswer
	Err  error
}

func (e *ScoutError) Error() string {
	return oneLine(fmt.Sprintf("%s: %v (%v)", e.URL, e.Kind, e.Err))
}

func (e *ScoutError) Unwrap() []error { return []error{e.Kind, e.Err} }

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:299] + "…"
	}
	return s
}

// Scouter is what scouting reads; *fedi.Client has it.
type Scouter interface {
	BaseURL() string
	InstanceV2(ctx context.Context) (fedi.Instance, error)
	Rules(ctx context.Context) ([]fedi.Rule, error)
	NodeInfo(ctx context.Context) (fedi.NodeInfo, error)
	DomainBlocks(ctx context.Context) ([]fedi.DomainBlock, error)
}

var _ Scouter = (*fedi.Client)(nil)

// DefaultTimeout bounds each request of ScoutURL.
const DefaultTimeout = 15 * time.Second

// ScoutURL scouts the server at rawURL (a bare host means https) with a
// fresh client; hc may be nil.
func ScoutURL(ctx context.Context, rawURL string, hc *http.Client) (*Report, error) {
	u, err := normalize(rawURL)
	if err != nil {
		return nil, &ScoutError{URL: rawURL, Kind: ErrNotMastodon, Err: err}
	}
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout}
	}
	// Scouting is a handful of calls: do not wait long on rate limits.
	c := fedi.New(u, fedi.WithHTTPClient(hc), fedi.WithLimits(fedi.Limits{MaxRetries: 1, MaxWait: 10 * time.Second}))
	return Scout(ctx, c)
}

// normalize turns "social.example" or "https://social.example/" into a
// base URL.
func normalize(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("not a server URL")
	}
	return strings.TrimRight(u.Scheme+"://"+u.Host+u.Path, "/"), nil
}

// Scout reads the server's v2 instance, rules, NodeInfo and public domain
// blocks. Only the instance is required; the rest fills in what it can.
func Scout(ctx context.Context, c Scouter) (*Report, error) {
	base := c.BaseURL()
	in, err := c.InstanceV2(ctx)
	if err != nil {
		return nil, classify(base, err)
	}
	if in.Domain == "" && in.Version == "" {
		return nil, &ScoutError{URL: base, Kind: ErrNotMastodon, Err: errors.New("/api/v2/instance has no domain or version")}
	}
	r := &Report{
		URL:            base,
		Domain:         in.Domain,
		Title:          in.Title,
		Version:        in.Version,
		ActiveUsers:    in.Usage.Users.ActiveMonth,
		Languages:      append([]string{}, in.Languages...),
		MaxCharacters:  in.Configuration.Statuses.MaxCharacters,
		ReasonRequired: in.Registrations.ReasonRequired,
		SignUpURL:      in.Registrations.URL,
		MinAge:         in.Registrations.MinAge,
		Message:        in.Registrations.Message,
		Contact:        Contact{Email: in.Contact.Email},
		Rules:          []string{},
		DomainBlocks:   -1,
	}
	switch {
	case !in.Registrations.Enabled:
		r.Registrations = Closed
	case in.Registrations.ApprovalRequired:
		r.Registrations = Approval
	default:
		r.Registrations = Open
	}
	if a := in.Contact.Account; a != nil && a.Username != "" {
		acct := a.Acct
		if acct == "" {
			acct = a.Username
		}
		if !strings.Contains(acct, "@") && in.Domain != "" {
			acct += "@" + in.Domain
		}
		r.Contact.Account = "@" + acct
	}
	rules := in.Rules
	if len(rules) == 0 {
		if rs, err := c.Rules(ctx); err == nil {
			rules = rs
		}
	}
	for _, rule := range rules {
		if t := strings.TrimSpace(rule.Text); t != "" {
			r.Rules = append(r.Rules, t)
		}
	}
	if ni, err := c.NodeInfo(ctx); err == nil {
		r.Software = strings.ToLower(ni.Software.Name)
		if ni.Software.Version != "" {
			r.Version = ni.Software.Version
		}
		if r.ActiveUsers == 0 {
			r.ActiveUsers = ni.Usage.Users.ActiveMonth
		}
		r.TotalUsers = ni.Usage.Users.Total
	}
	if r.Software == "" {
		r.Software = guessSoftware(in)
	}
	if bs, err := c.DomainBlocks(ctx); err == nil {
		r.DomainBlocks = len(bs)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return r, nil
}

func guessSoftware(in fedi.Instance) string {
	s := strings.ToLower(in.SourceURL + " " + in.Version)
	for _, name := range []string{"gotosocial", "pleroma", "akkoma", "mastodon"} {
		if strings.Contains(s, name) {
			return name
		}
	}
	return "unknown"
}

// classify turns the instance call's error into a ScoutError.
func classify(base string, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	var fe *fedi.Error
	if errors.As(err, &fe) {
		if fe.Status >= 500 {
			return &ScoutError{URL: base, Kind: ErrNoAnswer, Err: fmt.Errorf("GET /api/v2/instance: %d %s", fe.Status, http.StatusText(fe.Status))}
		}
		return &ScoutError{URL: base, Kind: ErrNotMastodon, Err: fmt.Errorf("GET /api/v2/instance: %d %s", fe.Status, http.StatusText(fe.Status))}
	}
	var ne net.Error
	var op *net.OpError
	var dns *net.DNSError
	if errors.As(err, &ne) || errors.As(err, &op) || errors.As(err, &dns) || errors.Is(err, context.DeadlineExceeded) {
		return &ScoutError{URL: base, Kind: ErrNoAnswer, Err: unwrapAll(err)}
	}
	if strings.Contains(err.Error(), "decode answer") {
		return &ScoutError{URL: base, Kind: ErrNotMastodon, Err: errors.New("GET /api/v2/instance did not answer JSON")}
	}
	return &ScoutError{URL: base, Kind: ErrNoAnswer, Err: unwrapAll(err)}
}

// unwrapAll keeps the innermost cause ("connection refused") so that the
// line stays short.
func unwrapAll(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		if _, ok := u.(interface{ Unwrap() []error }); ok {
			return err
		}
		err = u
	}
}
