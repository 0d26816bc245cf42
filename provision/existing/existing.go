package existing

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/provision/existing/admission"
)

// Config names the server a group joins.
type Config struct {
	URL        string
	HTTPClient *http.Client // nil: a client with DefaultTimeout
}

// Existing is the destination for a server the group does not run. Start
// only checks that it answers and what it runs: the admin lets members in
// (admission), and members sign up through a Door.
type Existing struct {
	cfg    Config
	Report *Report // after Start
}

var _ provision.Destination = (*Existing)(nil)

// New returns the destination for cfg.
func New(cfg Config) *Existing { return &Existing{cfg: cfg} }

// Start scouts the server and returns it with no admin token and no
// account maker.
func (e *Existing) Start(ctx context.Context, emit progress.Func) (*provision.Server, error) {
	step := "scout " + e.cfg.URL
	emit.Emit(progress.Event{Kind: progress.StepStarted, Step: step})
	r, err := ScoutURL(ctx, e.cfg.URL, e.cfg.HTTPClient)
	if err != nil {
		return nil, err
	}
	e.Report = r
	emit.Emit(progress.Event{Kind: progress.StepDone, Step: step})
	if r.Registrations == Closed {
		emit.Emit(progress.Event{Kind: progress.Log, Step: step,
			Message: "registrations are closed: members can join only if the admin invites them"})
	}
	return &provision.Server{URL: r.URL, Software: r.Software}, nil
}

// Stop holds nothing.
func (e *Existing) Stop(context.Context) error { return nil }

// Member is a member's sign-up through the API.
type Member struct {
	Username   string
	Email      string
	Password   string
	Locale     string
	GroupTitle string
	Proof      string // from admission.MemberProof
}

// Registrar signs members up on one server through the API, with one
// registered app and its client-credentials token, made on first use. It
// is safe for concurrent use.
type Registrar struct {
	c       *fedi.Client
	appName string

	mu  sync.Mutex
	tok string
}

// NewRegistrar returns a registrar for the server at serverURL.
func NewRegistrar(serverURL string, opts ...fedi.Option) *Registrar {
	return &Registrar{c: fedi.New(serverURL, opts...), appName: "Lifeboat"}
}

func (r *Registrar) appToken(ctx context.Context) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tok != "" {
		return r.tok, nil
	}
	app, err := r.c.RegisterApp(ctx, r.appName, "", []string{"read", "write:accounts"})
	if err != nil {
		return "", fmt.Errorf("register app: %w", err)
	}
	tok, err := r.c.ClientCredentialsToken(ctx, app)
	if err != nil {
		return "", fmt.Errorf("app token: %w", err)
	}
	r.tok = tok
	return tok, nil
}

// SignUp signs the member up with the proof in the reason, and agrees to
// the server's rules on the member's behalf (the invite page shows them
// and the member accepts them first). On an approval-mode server the
// account waits for the admin's watcher; the member confirms their email
// and then authorizes Lifeboat by OAuth as on other destinations.
//
// The token is the new user's when the server returns one: usually not
// usable before approval, and absent on GoToSocial v0.17.3, which creates
// the account but then fails to answer (a 5xx or an empty body: reported
// as success with no token).
// Taken usernames or emails fail with a 422 (Mastodon) or 409
// (GoToSocial) *fedi.Error.
func (r *Registrar) SignUp(ctx context.Context, m Member) (token string, err error) {
	return r.signUp(ctx, fedi.SignUp{
		Username: m.Username, Email: m.Email, Password: m.Password, Locale: m.Locale,
		Agreement: true, Reason: admission.Reason(m.GroupTitle, m.Proof),
	})
}

func (r *Registrar) signUp(ctx context.Context, s fedi.SignUp) (string, error) {
	app, err := r.appToken(ctx)
	if err != nil {
		return "", err
	}
	tok, err := r.c.WithToken(app).SignUp(ctx, s)
	if err != nil && maybeCreated(err) {
		return "", nil // created, answer lost (GoToSocial v0.17.3)
	}
	if err != nil {
		return "", fmt.Errorf("sign up %s: %w", s.Username, takenErr(err))
	}
	return tok, nil
}

// maybeCreated reports whether a failed sign-up may still have made the
// account: GoToSocial v0.17.3 creates it and then answers a 5xx or 200
// with an empty body. A refusal (4xx), a network failure or a cancelled
// context means there is no account.
func maybeCreated(err error) bool {
	var fe *fedi.Error
	if errors.As(err, &fe) {
		return fe.Status >= 500
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return strings.Contains(err.Error(), "decode answer") || strings.Contains(err.Error(), "read answer")
}
