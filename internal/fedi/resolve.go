package fedi

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// ResolveAccount returns the account at address acct ("user@domain") as
// the caller's server knows it, with its id there. An account the server
// has never seen is fetched from its own server first (WebFinger), which
// GET /api/v1/accounts/lookup does not do on Mastodon or GoToSocial: this
// asks GET /api/v2/search?resolve=true&type=accounts, which both answer
// for a signed-in caller (GoToSocial v0.17.3 resolves a namestring query
// through its federator and returns only that account). No account at
// the address fails with IsStatus(err, 404).
func (c *Client) ResolveAccount(ctx context.Context, acct string) (Account, error) {
	acct = trimAt(strings.TrimSpace(acct))
	user, domain, _ := strings.Cut(acct, "@")
	var res struct {
		Accounts []Account `json:"accounts"`
	}
	q := url.Values{"q": {"@" + acct}, "resolve": {"true"}, "type": {"accounts"}, "limit": {"5"}}
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/api/v2/search", query: q, auth: true}, &res); err != nil {
		return Account{}, err
	}
	for _, a := range res.Accounts {
		u, d, remote := strings.Cut(a.Acct, "@")
		// A server writes its own accounts' acct without the domain.
		if strings.EqualFold(u, user) && (!remote || strings.EqualFold(d, domain)) {
			return a, nil
		}
	}
	return Account{}, &Error{Status: http.StatusNotFound, Method: http.MethodGet, Path: "/api/v2/search",
		Message: "no account at " + acct}
}

// Domain is the server's domain, the part after the @ in its accounts'
// addresses (GET /api/v2/instance), which may differ from the host of
// its base URL.
func (c *Client) Domain(ctx context.Context) (string, error) {
	in, err := c.InstanceV2(ctx)
	if err != nil {
		return "", err
	}
	if in.Domain == "" {
		return "", &Error{Status: http.StatusOK, Method: http.MethodGet, Path: "/api/v2/instance", Message: "the server names no domain"}
	}
	return strings.ToLower(in.Domain), nil
}
