package fedi

import (
	"context"
	"net/http"
	"net/url"
	"time"

	mastodon "github.com/mattn/go-mastodon"
)

// AdminAccount is the moderator's view of an account. Calls that return it
// need a token with admin:read:accounts (listing) or admin:write:accounts
// (approve, reject) of a user with the right role (GoToSocial: admin).
type AdminAccount struct {
	ID            string    `json:"id"`
	Username      string    `json:"username"`
	Domain        string    `json:"domain"`
	Email         string    `json:"email"`
	Locale        string    `json:"locale"`
	InviteRequest string    `json:"invite_request"` // the sign-up reason
	Approved      bool      `json:"approved"`
	Confirmed     bool      `json:"confirmed"`
	Disabled      bool      `json:"disabled"`
	Silenced      bool      `json:"silenced"`
	Suspended     bool      `json:"suspended"`
	CreatedAt     time.Time `json:"created_at"`
	Account       *Account  `json:"account"`
}

// adminAccountJSON tolerates nulls (GoToSocial sends "domain": null).
type adminAccountJSON struct {
	AdminAccount
	Domain        *string `json:"domain"`
	InviteRequest *string `json:"invite_request"`
}

func (j adminAccountJSON) value() AdminAccount {
	a := j.AdminAccount
	if j.Domain != nil {
		a.Domain = *j.Domain
	}
	if j.InviteRequest != nil {
		a.InviteRequest = *j.InviteRequest
	}
	return a
}

func fromMastodonAdmin(m *mastodon.AdminAccount) AdminAccount {
	a := AdminAccount{
		ID: string(m.ID), Username: m.Username, Domain: m.Domain, Email: m.Email, Locale: m.Locale,
		InviteRequest: m.InviteRequest, Approved: m.Approved, Confirmed: m.Confirmed, Disabled: m.Disabled,
		Silenced: m.Silenced, Suspended: m.Suspended, CreatedAt: m.CreatedAt,
	}
	if m.Account != nil {
		acc := fromMastodonAccount(m.Account)
		a.Account = &acc
	}
	return a
}

// PendingAccounts returns every local account awaiting approval (all pages):
// GET /api/v2/admin/accounts?status=pending&origin=local, or on servers
// without v2 GET /api/v1/admin/accounts?pending=true&local=true.
func (c *Client) PendingAccounts(ctx context.Context) ([]AdminAccount, error) {
	as, err := c.adminList(ctx, "/api/v2/admin/accounts", url.Values{"status": {"pending"}, "origin": {"local"}})
	if IsStatus(err, http.StatusNotFound) {
		as, err = c.adminList(ctx, "/api/v1/admin/accounts", url.Values{"pending": {"true"}, "local": {"true"}})
	}
	return as, err
}

// AdminAccounts lists accounts with v2 filters (origin, status, username,
// email, …), all pages, falling back to v1 with the same query on 404. Use
// it to find an account whose sign-up answer was lost (username=NAME).
func (c *Client) AdminAccounts(ctx context.Context, query url.Values) ([]AdminAccount, error) {
	as, err := c.adminList(ctx, "/api/v2/admin/accounts", query)
	if IsStatus(err, http.StatusNotFound) {
		as, err = c.adminList(ctx, "/api/v1/admin/accounts", query)
	}
	return as, err
}

func (c *Client) adminList(ctx context.Context, path string, query url.Values) ([]AdminAccount, error) {
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	js, err := pages[adminAccountJSON](ctx, c, path, q)
	if err != nil {
		return nil, err
	}
	out := make([]AdminAccount, len(js))
	for i, j := range js {
		out[i] = j.value()
	}
	return out, nil
}

// AdminAccount returns one account's moderator view.
func (c *Client) AdminAccount(ctx context.Context, id string) (AdminAccount, error) {
	var a *mastodon.AdminAccount
	err := c.viaMastodon(ctx, http.MethodGet, "/api/v1/admin/accounts/:id", func(ctx context.Context) (err error) {
		a, err = c.md.GetAdminAccount(ctx, mastodon.ID(id))
		return err
	})
	if err != nil {
		return AdminAccount{}, err
	}
	return fromMastodonAdmin(a), nil
}

// Approve approves a pending sign-up. Servers answer 403 (Mastodon) or
// 4xx (GoToSocial) when the account is not pending.
func (c *Client) Approve(ctx context.Context, id string) error {
	return c.viaMastodon(ctx, http.MethodPost, "/api/v1/admin/accounts/:id/approve", func(ctx context.Context) error {
		_, err := c.md.AdminAccountApprove(ctx, mastodon.ID(id))
		return err
	})
}

// Reject rejects (and deletes) a pending sign-up.
func (c *Client) Reject(ctx context.Context, id string) error {
	return c.viaMastodon(ctx, http.MethodPost, "/api/v1/admin/accounts/:id/reject", func(ctx context.Context) error {
		_, err := c.md.AdminAccountReject(ctx, mastodon.ID(id))
		return err
	})
}
