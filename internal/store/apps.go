package store

import (
	"context"
	"fmt"
	"time"
)

// HomeApp is the OAuth app Lifeboat registered on a member's own server
// (a member who keeps their account elsewhere): one per server and
// callback, shared by every member of that server.
type HomeApp struct {
	Server       string // the server's base URL
	RedirectURI  string // Lifeboat's callback the app was registered with
	ClientID     string
	ClientSecret string // secret, sealed at rest
	CreatedAt    time.Time
}

// HomeApps keeps the apps on members' servers.
type HomeApps interface {
	// Get returns the app for server and redirectURI, or ErrNotFound.
	Get(ctx context.Context, server, redirectURI string) (HomeApp, error)
	// Add keeps a as the app for its server and callback unless one is
	// kept already, and returns the one kept: of two racing
	// registrations, every caller ends with the same app.
	Add(ctx context.Context, a HomeApp) (HomeApp, error)
}

// homeAppTable implements HomeApps.
type homeAppTable struct{ s *sqlStore }

const homeAppCols = "server, redirect_uri, client_id, client_secret, created_at"

// clientSecretAD binds a sealed client secret to its row.
func clientSecretAD(server, redirectURI string) string {
	return "home_apps.client_secret\x00" + server + "\x00" + redirectURI
}

func (t homeAppTable) scan(sc interface{ Scan(...any) error }) (HomeApp, error) {
	var a HomeApp
	var sec string
	err := sc.Scan(&a.Server, &a.RedirectURI, &a.ClientID, &sec, scanTime(&a.CreatedAt))
	if err == nil {
		var b []byte
		b, err = t.s.keys.Open(sec, clientSecretAD(a.Server, a.RedirectURI))
		a.ClientSecret = string(b)
	}
	return a, err
}

func (t homeAppTable) Get(ctx context.Context, server, redirectURI string) (HomeApp, error) {
	a, err := t.scan(t.s.queryRow(ctx, "SELECT "+homeAppCols+" FROM home_apps WHERE server = ? AND redirect_uri = ?", server, redirectURI))
	if err != nil {
		return HomeApp{}, fmt.Errorf("get the app on %s: %w", server, mapErr(err))
	}
	return a, nil
}

func (t homeAppTable) Add(ctx context.Context, a HomeApp) (HomeApp, error) {
	if a.CreatedAt.IsZero() {
		a.CreatedAt = time.Now()
	}
	_, err := t.s.exec(ctx, "INSERT INTO home_apps ("+homeAppCols+") VALUES (?, ?, ?, ?, ?) ON CONFLICT (server, redirect_uri) DO NOTHING",
		a.Server, a.RedirectURI, a.ClientID, t.s.keys.Seal([]byte(a.ClientSecret), clientSecretAD(a.Server, a.RedirectURI)), t.s.d.ts(a.CreatedAt))
	if err != nil {
		return HomeApp{}, fmt.Errorf("keep the app on %s: %w", a.Server, mapErr(err))
	}
	return t.Get(ctx, a.Server, a.RedirectURI)
}
