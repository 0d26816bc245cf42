package lead

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/atomicfile"
	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/provision/destination"
	"github.com/lifeboat-social/lifeboat/provision/existing"
	"github.com/lifeboat-social/lifeboat/provision/existing/admission"
)

// Ask is the admission request the lead asks an existing server's admin
// for: lifeboat request and the TUI write it through Desk.Request.
type Ask struct {
	Group *groups.Group
	File  string // the group file, recorded so the group is listed
	// Server is the server to ask; "" is the group's destination.server.
	Server  string
	Window  admission.Window
	Message string // a note to the admin, signed with the rest
	Now     time.Time
	// Out is where the request is written: "" is the group's state
	// directory (RequestFile); "-" writes nothing (the caller prints it).
	Out string
	// Scout reads the server (default existing.ScoutURL).
	Scout func(ctx context.Context, url string) (*existing.Report, error)
}

// Asked is a request made, saved in the journal and written.
type Asked struct {
	Request *admission.Request
	Server  *existing.Report // the server as scouted: its rules are in the request
	Path    string           // where the request was written; "" for Out "-"
	// Supersedes says the admin accepted the group's previous request:
	// this one needs its own acceptance (an amendment would not).
	Supersedes bool
}

// ErrNoServer is an Ask that names no server and a group file without
// destination.server.
var ErrNoServer = errors.New("no server to ask: name one, or set destination.server in the group file")

// Request scouts the server, makes the group's signed admission request
// (its rules, the window, the group's key from the store, and the salted
// email hashes of everyone on the roster: the file's members and the
// people who joined and were let in), records it in the journal where
// the lead's side looks for the admin's answer, and writes it.
func (d *Desk) Request(ctx context.Context, a Ask) (Asked, error) {
	g := a.Group
	server := a.Server
	if server == "" {
		server = g.Destination.Server
	}
	if server == "" {
		return Asked{}, ErrNoServer
	}
	scout := a.Scout
	if scout == nil {
		scout = func(ctx context.Context, url string) (*existing.Report, error) {
			return existing.ScoutURL(ctx, url, nil)
		}
	}
	r, err := scout(ctx, server)
	if err != nil {
		return Asked{}, err
	}
	st := d.Store
	if err := st.Groups().Put(ctx, store.Group{Name: g.Name, Title: g.Title, File: a.File}); err != nil {
		return Asked{}, err
	}
	sg, err := st.Groups().Get(ctx, g.Name)
	if err != nil {
		return Asked{}, err
	}
	emails, err := d.rosterEmails(ctx, g)
	if err != nil {
		return Asked{}, err
	}
	out := Asked{Server: r}
	if ok, err := admission.AcceptedFor(ctx, st, g.Name); err == nil && ok {
		out.Supersedes = true
	}
	out.Request, err = admission.New(admission.Draft{
		Server:  r.URL,
		Group:   admission.Group{Name: g.Name, Title: g.Title},
		Lead:    admission.Contact{Name: g.Lead.Name, Email: g.Lead.Email},
		Emails:  emails,
		Window:  a.Window,
		Rules:   r.Rules,
		Message: a.Message,
	}, ed25519.PrivateKey(sg.SigningKey), a.Now)
	if err != nil {
		return Asked{}, err
	}
	if err := admission.SaveRequest(ctx, st.Journal(), out.Request); err != nil {
		return Asked{}, err
	}
	switch a.Out {
	case "-":
		return out, nil
	case "":
		if d.StateDir == "" {
			return Asked{}, errors.New("no state directory to write the request to: name a file")
		}
		out.Path = d.RequestFile(g.Name, "admission", r.URL, "")
		if err := os.MkdirAll(filepath.Dir(out.Path), 0o700); err != nil {
			return Asked{}, err
		}
	default:
		out.Path = a.Out
	}
	// the request is meant to be sent: readable by others, as any letter
	if err := atomicfile.Write(out.Path, out.Request.Encode(), 0o644); err != nil {
		return Asked{}, fmt.Errorf("write the request: %w", err)
	}
	return out, nil
}

// rosterEmails are the emails of everyone on g's roster (the file's
// members and the admitted joins): what a request and its amendments
// carry, so the admin's watcher approves the people who joined too.
func (d *Desk) rosterEmails(ctx context.Context, g *groups.Group) ([]string, error) {
	r, err := campaign.Roster(ctx, d.Store, g)
	if err != nil {
		return nil, err
	}
	emails := make([]string, len(r.Members))
	for i, m := range r.Members {
		emails[i] = m.Email
	}
	return emails, nil
}

// Amend makes the amendment that brings the group's accepted request to
// server ("" is the group's destination.server) to the roster as it is
// now: people who joined and were let in since are added, people
// removed are taken off. It is kept in the journal; the caller writes it.
func (d *Desk) Amend(ctx context.Context, g *groups.Group, server string, now time.Time) (*admission.Amendment, *admission.Request, error) {
	if server == "" {
		server = g.Destination.Server
	}
	if server == "" {
		return nil, nil, ErrNoServer
	}
	emails, err := d.rosterEmails(ctx, g)
	if err != nil {
		return nil, nil, err
	}
	return admission.Amend(ctx, d.Store, g.Name, server, emails, now)
}

// RequestDrift is how g's roster now differs from what its accepted
// admission request admits (to destination.server, or any server when
// the file names none). A group with no accepted request has no drift:
// the zero Drift and no error.
func (d *Desk) RequestDrift(ctx context.Context, g *groups.Group) (admission.Drift, error) {
	emails, err := d.rosterEmails(ctx, g)
	if err != nil {
		return admission.Drift{}, err
	}
	dr, err := admission.RosterDrift(ctx, d.Store, g.Name, g.Destination.Server, emails)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, admission.ErrNotAccepted) {
		return admission.Drift{}, nil
	}
	return dr, err
}

// AdmissionNote is the warning the lead sees beside the pledges while an
// existing destination's accepted request no longer admits the roster
// (file is the group file as the lead typed it, for the command it
// names); "" for other destinations, before an acceptance, or when the
// request admits exactly the roster.
func (d *Desk) AdmissionNote(ctx context.Context, g *groups.Group, file string) (string, error) {
	if g.Destination.Type != groups.DestExisting {
		return "", nil
	}
	dr, err := d.RequestDrift(ctx, g)
	if err != nil {
		return "", err
	}
	return DriftNote(dr, file), nil
}

// DriftNote is the lead's warning about a drift, naming the command that
// mends it (file is the group file as the lead typed it); "" when the
// accepted request admits exactly the roster.
func DriftNote(dr admission.Drift, file string) string {
	var parts []string
	if n := len(dr.Missing); n > 0 {
		parts = append(parts, fmt.Sprintf("%d %s joined since the admin accepted the request, and the server will not approve them", n, plural(n, "person", "people")))
	}
	if dr.Gone > 0 {
		parts = append(parts, fmt.Sprintf("%d %s left the roster and can still be approved", dr.Gone, plural(dr.Gone, "person", "people")))
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, "; ") + "; send an amendment: lifeboat request " + file + " --amend"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// RequestFile is where a request (kind "admission") or an amendment
// (kind "amendment", with its id) to server is written by default: the
// group's state directory.
func (d *Desk) RequestFile(group, kind, server, id string) string {
	name := kind + "-" + hostName(server)
	if id != "" {
		name += "-" + id
	}
	return d.GroupPath(group, name+".json")
}

// GroupPath is the file name in the group's state directory, where what
// is the lead's alone is kept (requests written, links exported).
func (d *Desk) GroupPath(group, name string) string {
	return filepath.Join(destination.GroupDir(d.StateDir, group), name)
}

func hostName(s string) string {
	if u, err := url.Parse(s); err == nil && u.Host != "" {
		return strings.NewReplacer(":", "_").Replace(u.Host)
	}
	return "server"
}

// ErrNoContact is a server that names no contact account to message.
var ErrNoContact = errors.New("the server names no contact account to message")

// Announce sends the server's contact account a direct message about the
// request, from the lead's own account (its server and token): who asks,
// for how many, when, and the group key's fingerprint to check.
func Announce(ctx context.Context, r *existing.Report, req *admission.Request, from, token string) error {
	if r.Contact.Account == "" {
		return fmt.Errorf("%w; send the file to %s", ErrNoContact, orNone(r.Contact.Email))
	}
	if from == "" {
		from = r.URL
	}
	text := fmt.Sprintf("%s Hello! %s, a group of %d people leaving a centralised network together, asks to join %s between %s and %s. "+
		"Its signed admission request (made with Lifeboat, group key %s) comes from %s <%s>; "+
		"you can check it with: lifeboat admin review FILE",
		r.Contact.Account, req.Group.Title, req.Size, r.Domain, req.Window.From.Format("2 Jan 2006"), req.Window.Until.Format("2 Jan 2006"),
		req.Fingerprint(), req.Lead.Name, req.Lead.Email)
	if _, err := fedi.New(from).WithToken(token).PostStatus(ctx, text, fedi.Direct); err != nil {
		return fmt.Errorf("send the direct message: %w", err)
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
