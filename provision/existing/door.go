package existing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/provision"
)

// Why a sign-up was refused, for the member's page to say what to do.
var (
	// ErrUsernameTaken: the server has an account with that name; the
	// member chooses another.
	ErrUsernameTaken = provision.ErrUsernameTaken
	// ErrEmailTaken: the server has an account with that email, so the
	// member signed up already (both servers allow one account per email).
	ErrEmailTaken = errors.New("the email already has an account")
	// ErrFull: the server takes no more sign-ups for now (GoToSocial
	// v0.17.3: 10 approved a day, 20 waiting).
	ErrFull = errors.New("the server takes no more sign-ups for now")
)

// fullErr recognises GoToSocial's refusals when its daily or waiting
// sign-ups are full (422, in its words).
func fullErr(err error) error {
	var fe *fedi.Error
	if errors.As(err, &fe) && fe.Status == http.StatusUnprocessableEntity {
		m := strings.ToLower(fe.Message)
		if strings.Contains(m, "limit of new sign-ups") || strings.Contains(m, "backlog is currently full") {
			return fmt.Errorf("%w: %w", ErrFull, err)
		}
	}
	return err
}

// takenErr tells a taken username from a taken email: Mastodon names the
// field in its 422 details, GoToSocial v0.17.3 says "email address … is
// not available" or "username … is not available" with a 409.
func takenErr(err error) error {
	if !fedi.IsTaken(err) {
		return err
	}
	var fe *fedi.Error
	errors.As(err, &fe)
	if _, ok := fe.Details["email"]; ok || strings.HasPrefix(strings.ToLower(fe.Message), "email") {
		return fmt.Errorf("%w: %w", ErrEmailTaken, err)
	}
	return fmt.Errorf("%w: %w", ErrUsernameTaken, err)
}

// Reason lengths the servers take (GoToSocial 40 to 500 characters when a
// reason is required, Mastodon at most 420): a member's reason must fit
// both.
const (
	MinReason = 40
	MaxReason = 420
)

// Door is how a group's members get onto a server the group does not
// run. On GoToSocial, Lifeboat signs the member up through the API with
// the username and password the member types on the invite page (the
// password is passed on in that one request and never kept). On Mastodon
// the member signs up on the server's own page: its API takes 5 sign-ups
// per 30 minutes from one address (all of Lifeboat's would come from one)
// and may ask for a captcha; the page does neither to a member's own
// browser.
type Door struct {
	reg    *Registrar
	page   string
	domain string
	api    bool
	hc     *http.Client
}

// NewDoor returns the door of the scouted server r.
func NewDoor(r *Report, opts ...fedi.Option) *Door {
	domain := r.Domain
	if domain == "" {
		if u, err := url.Parse(r.URL); err == nil {
			domain = u.Host
		}
	}
	return &Door{reg: NewRegistrar(r.URL, opts...), page: SignUpPage(r), domain: domain,
		api: r.Software == "gotosocial" && r.SignUpURL == "", hc: &http.Client{Timeout: DefaultTimeout}}
}

// SignUpPage is the server's own sign-up page: the one it names in its
// instance information, else the one its software serves (GoToSocial
// /signup, Mastodon /auth/sign_up).
func SignUpPage(r *Report) string {
	if r.SignUpURL != "" {
		return r.SignUpURL
	}
	base := strings.TrimRight(r.URL, "/")
	if r.Software == "gotosocial" {
		return base + "/signup"
	}
	return base + "/auth/sign_up"
}

// ViaAPI reports whether Lifeboat signs members up itself; otherwise
// they use Page.
func (d *Door) ViaAPI() bool { return d.api }

// Page is the server's own sign-up page.
func (d *Door) Page() string { return d.page }

// Domain is the domain of the server's handles (@user@domain).
func (d *Door) Domain() string { return d.domain }

// SignUp makes the member's account with reason (which carries the
// member's admission proof), agreeing to the server's rules, which the
// invite page showed. A taken username fails with ErrUsernameTaken, an
// email that has an account with ErrEmailTaken, a server that takes no
// more sign-ups for now with ErrFull.
func (d *Door) SignUp(ctx context.Context, username, email, password, reason string) error {
	if n := len([]rune(reason)); n < MinReason || n > MaxReason {
		return fmt.Errorf("sign up %s: the reason has %d characters; servers take %d to %d", username, n, MinReason, MaxReason)
	}
	_, err := d.reg.signUp(ctx, fedi.SignUp{Username: username, Email: email, Password: password, Agreement: true, Reason: reason})
	return fullErr(err)
}

// Exists reports whether username has an account on the server, by
// WebFinger. GoToSocial answers for pending accounts too, so this is
// "signed up", not "approved".
func (d *Door) Exists(ctx context.Context, username string) (bool, error) {
	u := strings.TrimRight(d.reg.c.BaseURL(), "/") + "/.well-known/webfinger?resource=" +
		url.QueryEscape("acct:"+username+"@"+d.domain)
	ctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Accept", "application/jrd+json, application/json")
	resp, err := d.hc.Do(req)
	if err != nil {
		return false, fmt.Errorf("webfinger %s: %w", username, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return false, nil
	case resp.StatusCode != http.StatusOK:
		return false, fmt.Errorf("webfinger %s: %s", username, resp.Status)
	}
	var jrd struct {
		Subject string `json:"subject"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&jrd); err != nil {
		return false, fmt.Errorf("webfinger %s: %w", username, err)
	}
	return strings.EqualFold(strings.TrimPrefix(jrd.Subject, "acct:"), username+"@"+d.domain), nil
}
