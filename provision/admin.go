package provision

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/lifeboat-social/lifeboat/internal/fedi"
)

// AdminScopes are what the admin token of a server Lifeboat runs is for:
// the admin API (approving and looking up sign-ups) and plain read/write
// for checks.
var AdminScopes = []string{"read", "write", "follow", "admin:read", "admin:write"}

// SignInAdmin makes an admin token on a GoToSocial server Lifeboat runs:
// it registers the app "Lifeboat" and signs the admin in through the
// server's own OAuth forms.
func SignInAdmin(ctx context.Context, c *fedi.Client, email, password string) (fedi.App, string, error) {
	app, err := c.RegisterApp(ctx, "Lifeboat", fedi.OOB, AdminScopes)
	if err != nil {
		return app, "", fmt.Errorf("register the admin app: %w", err)
	}
	tok, err := c.SignInAndAuthorize(ctx, app, email, password)
	if err != nil {
		return app, "", fmt.Errorf("sign the admin in: %w", err)
	}
	return app, tok, nil
}

// NewPassword makes a password for an account Lifeboat creates: 144
// random bits, which GoToSocial's strength check accepts.
func NewPassword() string {
	b := make([]byte, 18)
	rand.Read(b)
	return hex.EncodeToString(b)
}
