package fedi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
)

// Moving is an account as a move concerns it: the account, where it has
// moved (Moved, set once a Move went through), and the accounts it says
// it is also known as (its aliases: GoToSocial shows them to the owner,
// in source).
type Moving struct {
	Account
	Moved  *Account `json:"moved"`
	Source struct {
		AlsoKnownAs []string `json:"also_known_as_uris"`
	} `json:"source"`
}

// Alias sets the caller's aliases (alsoKnownAs) to the accounts with the
// ActivityPub ids uris (POST /api/v1/accounts/alias, GoToSocial): the
// account that will move here must be named first, because the server it
// leaves checks that the new account names it back. GoToSocial fetches
// each account before it accepts the alias (422 when it cannot), and
// replaces the whole list. Mastodon has no such API (404): its aliases
// are set in the web settings (/settings/aliases).
func (c *Client) Alias(ctx context.Context, uris []string) (Moving, error) {
	body, err := json.Marshal(map[string][]string{"also_known_as_uris": uris})
	if err != nil {
		return Moving{}, err
	}
	var m Moving
	_, err = c.do(ctx, request{method: http.MethodPost, path: "/api/v1/accounts/alias", body: bytes.NewReader(body),
		ctype: "application/json", auth: true}, &m)
	return m, err
}

// Move moves the caller's account to the account with the ActivityPub
// id target (POST /api/v1/accounts/move, GoToSocial). The server wants
// the account's password for it, checks that target names the caller
// among its aliases, and refuses a move within 5 minutes of an attempt
// or 7 days of a success involving either account (422). It answers 202:
// followers are moved in the background. Mastodon has no such API (404):
// its moves are made in the web settings (/settings/migration).
func (c *Client) Move(ctx context.Context, password, target string) error {
	form := url.Values{"password": {password}, "moved_to_uri": {target}}
	_, err := c.do(ctx, request{method: http.MethodPost, path: "/api/v1/accounts/move", form: form, auth: true}, nil)
	return err
}

// AccountMoving returns the account with id as others see it, with where
// it moved (GET /api/v1/accounts/:id). GoToSocial wants a token for it,
// and still answers an account that has moved.
func (c *Client) AccountMoving(ctx context.Context, id string) (Moving, error) {
	var m Moving
	_, err := c.do(ctx, request{method: http.MethodGet, path: "/api/v1/accounts/" + url.PathEscape(id), auth: true}, &m)
	return m, err
}

// LookupMoving finds a local account by username, with where it moved
// (GET /api/v1/accounts/lookup). Mastodon answers it without a token;
// GoToSocial wants one, and answers 404 to a token whose own account has
// moved.
func (c *Client) LookupMoving(ctx context.Context, acct string) (Moving, error) {
	var m Moving
	_, err := c.do(ctx, request{method: http.MethodGet, path: "/api/v1/accounts/lookup",
		query: url.Values{"acct": {trimAt(acct)}}, auth: true}, &m)
	return m, err
}
