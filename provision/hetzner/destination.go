package hetzner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/provision/gtsaccounts"
)

// tokenFile holds the admin token Start made (0600, sealed), reused
// while it verifies.
const tokenFile = "admin-token.json"

// The admin's credentials (admin.json) and token (admin-token.json) are
// sealed with the store's key ring (store.WriteSealedFile), so a copy of
// the state directory holds neither the admin's password nor a token.
// Files an older Lifeboat left in clear are sealed on their first read.

// writeSealed writes b to path, sealed, 0600.
func writeSealed(path string, b []byte) error {
	keys, err := store.LoadKeys(filepath.Dir(path))
	if err != nil {
		return err
	}
	return store.WriteSealedFile(keys, path, b)
}

// readSealed reads a file writeSealed wrote (or one still in clear).
func readSealed(path string) ([]byte, error) {
	keys, err := store.LoadKeys(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	return store.ReadSealedFile(keys, path)
}

// Destination is a new instance on Hetzner Cloud as a
// provision.Destination: Start provisions (or re-uses) the group's server,
// waits for it, and turns the admin credentials into an admin token for
// the playbook engine.
type Destination struct {
	p *Provisioner
	// HTTP carries the Mastodon-API calls that make and check the admin
	// token; nil uses the waits' client (Config.Wait.HTTP), else fedi's
	// default.
	HTTP *http.Client

	res      Result
	accounts *gtsaccounts.Maker
}

var (
	_ provision.Destination = (*Destination)(nil)
	_ provision.Attacher    = (*Destination)(nil)
)

// NewDestination returns the destination for cfg. cfg.NoWait must be
// false: Start needs the server answering and the credentials fetched.
func NewDestination(cfg Config) *Destination {
	return &Destination{p: New(cfg)}
}

// Result is what the last Start's Up returned: addresses, DNS records,
// SSH access, the credentials file.
func (d *Destination) Result() Result { return d.res }

// ErrNotReady means Start was asked not to wait for the server (NoWait),
// so there is no server answering to hand to the playbook engine yet. It
// is provision.ErrNotReady, which callers of any destination test for.
var ErrNotReady = provision.ErrNotReady

// Start runs Up (idempotent: an existing server is kept, the waits and the
// admin step run again), then makes or re-uses the admin token:
//   - GoToSocial: the admin signs in through the server's own OAuth forms
//     (fedi.SignInAndAuthorize) with the email and password Up made;
//   - Mastodon: its sign-in forms are not for programs, so the token is
//     made on the server over SSH (see mastodonTokenCmd) and read from the
//     command's output; no secret is in the command line.
//
// A token saved by an earlier Start (admin-token.json, 0600, sealed) is reused
// while it still signs in as the admin. On GoToSocial, Accounts makes
// members' accounts with the account maker over SSH; on Mastodon with
// tootctl over SSH (MastodonAccounts).
func (d *Destination) Start(ctx context.Context, emit progress.Func) (*provision.Server, error) {
	if d.p.cfg.NoWait {
		return nil, fmt.Errorf("%w: NoWait is set; the destination needs the waits for DNS, TLS and the credentials", ErrNotReady)
	}
	res, err := d.p.Up(ctx, emit)
	d.res = res
	if err != nil {
		return nil, err
	}
	if !res.Waited || res.Credentials == "" {
		return nil, fmt.Errorf("%w: no admin credentials were fetched", ErrNotReady)
	}
	return d.server(ctx, emit)
}

// Attach connects to the server an earlier up made, without Terraform
// applying anything or the cloud API being asked: for "lifeboat serve",
// which runs beside the server for weeks.
func (d *Destination) Attach(ctx context.Context, emit progress.Func) (*provision.Server, error) {
	res, err := d.p.Status(ctx)
	if errors.Is(err, ErrNothing) {
		return nil, fmt.Errorf("%w: no server yet; run lifeboat up first", ErrNotReady)
	}
	if err != nil {
		return nil, err
	}
	if res.Credentials == "" {
		return nil, fmt.Errorf("%w: the server has no admin yet; run lifeboat up again to finish it", ErrNotReady)
	}
	d.res = res
	return d.server(ctx, emit)
}

// server makes the admin token and the account maker for d.res.
func (d *Destination) server(ctx context.Context, emit progress.Func) (*provision.Server, error) {
	creds, err := readCredentials(d.res.Credentials)
	if err != nil {
		return nil, err
	}
	if want := d.p.cfg.Group.Destination.SoftwareOrDefault(); creds.Software != want {
		return nil, fmt.Errorf("the server runs %s, the group file asks for %s", creds.Software, want)
	}

	const step = "admin token"
	emit.Emit(progress.Event{Kind: progress.StepStarted, Step: step, Message: "making the admin token for " + creds.URL})
	tok, err := d.adminToken(ctx, creds)
	if err != nil {
		emit.Emit(progress.Event{Kind: progress.Failed, Step: step, Message: err.Error(), Err: err})
		return nil, err
	}
	emit.Emit(progress.Event{Kind: progress.StepDone, Step: step})
	srv := &provision.Server{URL: creds.URL, Software: creds.Software, AdminToken: tok}
	keys, err := d.p.serverKeys()
	if err != nil {
		return nil, err
	}
	switch creds.Software {
	case groups.SoftwareGoToSocial:
		d.accounts = newMaker(d.p.target(d.res, keys), d.p.cfg.Layout)
		srv.Accounts = d.accounts
	case groups.SoftwareMastodon:
		srv.Accounts = NewMastodonAccounts(d.p.target(d.res, keys))
	}
	return srv, nil
}

// Stop ends the account maker's SSH session. The cloud server keeps
// running (lifeboat down destroys it).
func (d *Destination) Stop(context.Context) error {
	if d.accounts != nil {
		d.accounts.Close()
	}
	return nil
}

// savedToken is admin-token.json.
type savedToken struct {
	URL      string `json:"url"`
	Username string `json:"username"`
	Token    string `json:"token"`
}

func (d *Destination) tokenPath() string { return filepath.Join(d.p.cfg.Dir, tokenFile) }

func (d *Destination) client(base string) *fedi.Client {
	hc := d.HTTP
	if hc == nil {
		hc = d.p.cfg.Wait.HTTP
	}
	if hc != nil {
		return fedi.New(base, fedi.WithHTTPClient(hc))
	}
	return fedi.New(base)
}

// adminToken returns the saved token while it verifies, else makes,
// checks and saves a new one.
func (d *Destination) adminToken(ctx context.Context, creds Credentials) (string, error) {
	c := d.client(creds.URL)
	if saved, err := d.loadToken(); err != nil {
		return "", err
	} else if saved.Token != "" && saved.URL == creds.URL && d.verify(ctx, c, saved.Token, creds.Username) == nil {
		return saved.Token, nil
	}
	var tok string
	var err error
	switch creds.Software {
	case groups.SoftwareGoToSocial:
		tok, err = gotosocialToken(ctx, c, creds)
	case groups.SoftwareMastodon:
		tok, err = d.mastodonToken(ctx, creds)
	default:
		return "", fmt.Errorf("admin token: unknown software %q in admin.json", creds.Software)
	}
	if err != nil {
		return "", err
	}
	if err := d.verify(ctx, c, tok, creds.Username); err != nil {
		return "", fmt.Errorf("check the new admin token: %w", err)
	}
	b, _ := json.Marshal(savedToken{URL: creds.URL, Username: creds.Username, Token: tok})
	if err := writeSealed(d.tokenPath(), b); err != nil {
		return "", fmt.Errorf("save the admin token: %w", err)
	}
	return tok, nil
}

// verify checks that tok signs in as the admin.
func (d *Destination) verify(ctx context.Context, c *fedi.Client, tok, username string) error {
	me, err := c.WithToken(tok).VerifyCredentials(ctx)
	if err != nil {
		return err
	}
	if !strings.EqualFold(me.Username, username) {
		return fmt.Errorf("the token belongs to %q, not the admin %q", me.Username, username)
	}
	return nil
}

func (d *Destination) loadToken() (savedToken, error) {
	var s savedToken
	b, err := readSealed(d.tokenPath())
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("read the saved admin token: %w", err)
	}
	if json.Unmarshal(b, &s) != nil {
		return savedToken{}, nil // unreadable: make a new one
	}
	return s, nil
}

// gotosocialToken signs the admin in through GoToSocial's OAuth forms.
func gotosocialToken(ctx context.Context, c *fedi.Client, creds Credentials) (string, error) {
	_, tok, err := provision.SignInAdmin(ctx, c, creds.Email, creds.Password)
	return tok, err
}

// mastodonTokenCmd makes an OAuth application "Lifeboat" (once) and a new
// access token for the admin with provision.AdminScopes, inside the running web
// container, and prints the token after a marker. The username is checked
// against usernameRE before it is put in; nothing secret goes in.
func mastodonTokenCmd(username string) string {
	ruby := strings.Join([]string{
		`app = Doorkeeper::Application.find_or_create_by!(name: "Lifeboat", redirect_uri: "` + fedi.OOB + `") { |a| a.scopes = "` + strings.Join(provision.AdminScopes, " ") + `"; a.website = "https://github.com/lifeboat-social/lifeboat" }`,
		`user = Account.find_local!("` + username + `").user`,
		`tok = Doorkeeper::AccessToken.create!(application_id: app.id, resource_owner_id: user.id, scopes: "` + strings.Join(provision.AdminScopes, " ") + `")`,
		`puts "` + tokenMarker + `" + (tok.respond_to?(:plaintext_token) && tok.plaintext_token ? tok.plaintext_token : tok.token)`,
	}, "; ")
	return "cd /opt/mastodon && docker-compose exec -T web bin/rails runner '" + ruby + "'"
}

const tokenMarker = "LIFEBOAT_TOKEN="

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9_]{1,30}$`)

// mastodonToken makes the admin token on the server over SSH, with the
// pinned host key.
func (d *Destination) mastodonToken(ctx context.Context, creds Credentials) (string, error) {
	if !usernameRE.MatchString(creds.Username) {
		return "", fmt.Errorf("admin token: admin username %q in admin.json is not a Mastodon username", creds.Username)
	}
	keys, err := d.p.serverKeys()
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute) // Rails boots slowly
	defer cancel()
	out, err := d.p.target(d.res, keys).Run(ctx, mastodonTokenCmd(creds.Username))
	if err != nil {
		return "", fmt.Errorf("make the admin token over SSH: %w", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if t, ok := strings.CutPrefix(strings.TrimSpace(line), tokenMarker); ok && t != "" {
			return t, nil
		}
	}
	return "", errors.New("make the admin token over SSH: the server printed no token")
}

// readCredentials reads and checks admin.json. Its URL is where the admin
// password will be sent, so it must be https (plain http only on
// loopback, for tests and local trials).
func readCredentials(path string) (Credentials, error) {
	var c Credentials
	b, err := readSealed(path)
	if err != nil {
		return c, fmt.Errorf("read admin credentials: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("read admin credentials %s: %w", path, err)
	}
	c.URL = strings.TrimRight(c.URL, "/")
	if err := c.check(); err != nil {
		return Credentials{}, fmt.Errorf("admin credentials %s: %w", path, err)
	}
	return c, nil
}

func (c Credentials) check() error {
	if c.Username == "" || c.Email == "" || c.Password == "" {
		return errors.New("username, email or password missing")
	}
	u, err := url.Parse(c.URL)
	if err != nil || u.Host == "" {
		return fmt.Errorf("url %q is not a server address", c.URL)
	}
	switch u.Scheme {
	case "https":
	case "http":
		ip := net.ParseIP(u.Hostname())
		if u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("url %q is plain http: the admin password would travel unencrypted", c.URL)
		}
	default:
		return fmt.Errorf("url %q is not http(s)", c.URL)
	}
	return nil
}

// TokenFile is where Start keeps the admin token (0600, sealed).
func (d *Destination) TokenFile() string { return d.tokenPath() }
