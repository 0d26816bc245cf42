package move

import (
	"context"
	"fmt"

	"github.com/lifeboat-social/lifeboat/internal/fedi"
)

// oldScopes are what Lifeboat asks of the old account: reading it (its
// followers, whether it moved) and writing (the move).
var oldScopes = []string{"read", "write"}

// appKey journals the app Lifeboat registered on a server for a
// redirect URI: one per server, reused by every member who moves from it.
func appKey(server, redirectURI string) string { return "app:" + server + " " + redirectURI }

// AuthorizeURL is where the member authorises Lifeboat on their old
// server, once, for the move through its API; the server sends the
// browser back to redirectURI with a code and state. It registers
// Lifeboat's app on that server the first time.
func (m *Mover) AuthorizeURL(ctx context.Context, email, redirectURI, state string) (string, error) {
	p, err := m.plan(ctx, email)
	if err != nil {
		return "", err
	}
	var app fedi.App
	found, err := m.get(ctx, appKey(p.FromServer, redirectURI), &app)
	if err != nil {
		return "", err
	}
	old := m.cfg.Client(p.FromServer)
	if !found {
		if app, err = old.RegisterApp(ctx, "Lifeboat", redirectURI, oldScopes); err != nil {
			return "", fmt.Errorf("register Lifeboat on %s: %w", p.FromServer, err)
		}
		if err := m.put(ctx, appKey(p.FromServer, redirectURI), app); err != nil {
			return "", err
		}
	}
	return old.AuthorizeURL(app, state), nil
}

// Authorized trades the code the old server sent back for the member's
// token there, keeps it, and notes the old account's followers with it.
func (m *Mover) Authorized(ctx context.Context, email, code, redirectURI string) error {
	defer m.lock(email)()
	p, err := m.plan(ctx, email)
	if err != nil {
		return err
	}
	var app fedi.App
	found, err := m.get(ctx, appKey(p.FromServer, redirectURI), &app)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("authorised on %s without an app there", p.FromServer)
	}
	tok, err := m.cfg.Client(p.FromServer).ExchangeCode(ctx, app, code)
	if err != nil {
		return fmt.Errorf("authorise Lifeboat on %s: %w", p.FromServer, err)
	}
	if err := m.KeepToken(ctx, email, tok); err != nil {
		return err
	}
	m.noteFollowers(ctx, &p, tok)
	return m.save(ctx, p)
}
