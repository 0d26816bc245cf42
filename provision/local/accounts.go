package local

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/lifeboat-social/lifeboat/fedi"
	"github.com/lifeboat-social/lifeboat/internal/mailbox"
)

// ErrUsernameTaken means the username belongs to someone else.
var ErrUsernameTaken = errors.New("username is taken")

// confirmLink finds GoToSocial's "confirm your email" link in a mail.
var confirmLink = regexp.MustCompile(`https?://[^\s"<>]+/confirm_email\?token=[A-Za-z0-9-]+`)

// onMail follows the confirmation link in every mail GoToSocial sends, the
// way a member clicking it would, and wakes whoever waits for that email.
// GoToSocial stores the link's token only after the mail is accepted, so
// the link is followed from another goroutine, retrying while the server
// does not know it yet.
func (l *Local) onMail(m mailbox.Message) {
	link := confirmLink.FindString(m.Text)
	if link == "" {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for wait := 50 * time.Millisecond; ; wait = min(2*wait, time.Second) {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			if followLink(ctx, link) {
				break
			}
		}
		for _, to := range m.To {
			ch := l.confirmChan(to)
			l.mu.Lock()
			select {
			case <-ch:
			default:
				close(ch)
			}
			l.mu.Unlock()
		}
	}()
}

// followLink posts the confirmation form; true when the server took it.
func followLink(ctx context.Context, link string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, link, nil)
	if err != nil {
		return false
	}
	req.Header.Set("Accept", "text/html")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// confirmChan returns the channel that is closed once email's
// confirmation link has been followed.
func (l *Local) confirmChan(email string) chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := strings.ToLower(email)
	ch, ok := l.confirm[key]
	if !ok {
		ch = make(chan struct{})
		l.confirm[key] = ch
	}
	return ch
}

// appToken is a client-credentials token for sign-ups, made once.
func (l *Local) appToken(ctx context.Context) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.appTok != "" {
		return l.appTok, nil
	}
	tok, err := fedi.New(l.URL()).ClientCredentialsToken(ctx, l.st.App)
	if err != nil {
		return "", fmt.Errorf("app token for sign-ups: %w", err)
	}
	l.appTok = tok
	return tok, nil
}

// CreateAccount signs a member up through the API, approves the sign-up as
// admin and waits until the member's email is confirmed. It is safe to
// call again after a crash at any point: an account that already exists
// for this username and email is finished rather than made twice.
func (l *Local) CreateAccount(ctx context.Context, username, email, password string) (string, error) {
	acct, err := l.findAccount(ctx, username)
	if err != nil {
		return "", err
	}
	if acct == nil {
		confirmed := l.confirmChan(email)
		tok, err := l.appToken(ctx)
		if err != nil {
			return "", err
		}
		_, err = fedi.New(l.URL()).WithToken(tok).SignUp(ctx, fedi.SignUp{
			Username: username, Email: email, Password: password,
			Agreement: true, Locale: "en", Reason: "Arriving together with a Lifeboat group (local server)",
		})
		// A failure that may still have made the account is settled by
		// looking it up.
		if err != nil && !maybeCreated(err) {
			if fedi.IsTaken(err) {
				return "", fmt.Errorf("%s: %w", username, ErrUsernameTaken)
			}
			return "", fmt.Errorf("sign up %s: %w", username, err)
		}
		if acct, err = l.findAccount(ctx, username); err != nil {
			return "", err
		}
		if acct == nil {
			return "", fmt.Errorf("sign up %s: the server made no account", username)
		}
		if !acct.Confirmed {
			select {
			case <-confirmed:
				acct.Confirmed = true
			case <-time.After(30 * time.Second):
			case <-ctx.Done():
				return "", ctx.Err()
			}
		}
	}
	if !strings.EqualFold(acct.Email, email) {
		return "", fmt.Errorf("%s: %w", username, ErrUsernameTaken)
	}
	if !acct.Approved {
		if err := l.admin.Approve(ctx, acct.ID); err != nil && !fedi.IsStatus(err, http.StatusForbidden) {
			return "", fmt.Errorf("approve %s: %w", username, err)
		}
	}
	if !acct.Confirmed {
		// The confirmation mail was lost (a crash before it arrived):
		// confirm with GoToSocial's CLI, which shares the database.
		if err := l.confirmByCLI(ctx, username); err != nil {
			return "", err
		}
	}
	return acct.ID, nil
}

func (l *Local) confirmByCLI(ctx context.Context, username string) error {
	return l.offline(ctx, []string{"confirm", "--username=" + username})
}

// findAccount looks a local account up by username through the admin API;
// nil when there is none.
func (l *Local) findAccount(ctx context.Context, username string) (*fedi.AdminAccount, error) {
	q := url.Values{"username": {username}, "origin": {"local"}}
	accts, err := l.admin.AdminAccounts(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("look up %s: %w", username, err)
	}
	for _, a := range accts {
		if strings.EqualFold(a.Username, username) {
			return &a, nil
		}
	}
	return nil, nil
}
