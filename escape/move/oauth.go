package move

import (
	"context"
	"fmt"
	"strings"
)

// oldScopes are what Lifeboat asks of the old account: reading it (its
// followers, whether it moved) and writing (the move).
var oldScopes = []string{"read", "write"}

// AuthorizeURL is where the member authorises Lifeboat on their old
// server, once, for the move through its API; the server sends the
// browser back to redirectURI with a code and state. Lifeboat's app
// there is registered the first time and kept in the store, one per
// server and callback, as for members who connect their own account.
func (m *Mover) AuthorizeURL(ctx context.Context, email, redirectURI, state string) (string, error) {
	p, err := m.plan(ctx, email)
	if err != nil {
		return "", err
	}
	return m.homes.AuthorizeURL(ctx, p.FromServer, redirectURI, state)
}

// Authorized trades the code the old server sent back for the member's
// token there, keeps it, and notes the old account's followers with it.
func (m *Mover) Authorized(ctx context.Context, email, code, redirectURI string) error {
	defer m.lock(email)()
	p, err := m.plan(ctx, email)
	if err != nil {
		return err
	}
	c, err := m.homes.Connect(ctx, p.FromServer, redirectURI, code)
	if err != nil {
		return fmt.Errorf("authorise Lifeboat on %s: %w", p.FromServer, err)
	}
	if err := m.KeepToken(ctx, email, c.Token); err != nil {
		return err
	}
	if strings.EqualFold(c.Username, user(p.From)) {
		p.FromID = c.ID
	}
	m.noteFollowers(ctx, &p, c.Token)
	return m.save(ctx, p)
}
