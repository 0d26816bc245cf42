package fedi

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"time"

	mastodon "github.com/mattn/go-mastodon"
)

// Account is a Mastodon account, as much of it as Lifeboat uses.
type Account struct {
	ID             string    `json:"id"`
	Username       string    `json:"username"`
	Acct           string    `json:"acct"`
	URL            string    `json:"url"`
	URI            string    `json:"uri"`
	DisplayName    string    `json:"display_name"`
	Locked         bool      `json:"locked"`
	Bot            bool      `json:"bot"`
	CreatedAt      time.Time `json:"created_at"`
	FollowersCount int64     `json:"followers_count"`
	FollowingCount int64     `json:"following_count"`
	StatusesCount  int64     `json:"statuses_count"`
}

// Relationship is the caller's relationship with one account.
type Relationship struct {
	ID         string `json:"id"`
	Following  bool   `json:"following"`
	Requested  bool   `json:"requested"` // the target is locked: a follow request waits
	FollowedBy bool   `json:"followed_by"`
	Blocking   bool   `json:"blocking"`
	Muting     bool   `json:"muting"`
}

// List is one of the caller's lists.
type List struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// Status is a posted status.
type Status struct {
	ID         string    `json:"id"`
	URI        string    `json:"uri"`
	URL        string    `json:"url"`
	Content    string    `json:"content"`
	Visibility string    `json:"visibility"`
	CreatedAt  time.Time `json:"created_at"`
	Account    Account   `json:"account"`
}

func fromMastodonAccount(a *mastodon.Account) Account {
	if a == nil {
		return Account{}
	}
	return Account{
		ID: string(a.ID), Username: a.Username, Acct: a.Acct, URL: a.URL, URI: a.URI,
		DisplayName: a.DisplayName, Locked: a.Locked, Bot: a.Bot, CreatedAt: a.CreatedAt,
		FollowersCount: a.FollowersCount, FollowingCount: a.FollowingCount, StatusesCount: a.StatusesCount,
	}
}

func fromMastodonStatus(s *mastodon.Status) Status {
	return Status{ID: string(s.ID), URI: s.URI, URL: s.URL, Content: s.Content, Visibility: s.Visibility,
		CreatedAt: s.CreatedAt, Account: fromMastodonAccount(&s.Account)}
}

// VerifyCredentials returns the token's own account.
func (c *Client) VerifyCredentials(ctx context.Context) (Account, error) {
	var a *mastodon.Account
	err := c.viaMastodon(ctx, http.MethodGet, "/api/v1/accounts/verify_credentials", func(ctx context.Context) (err error) {
		a, err = c.md.GetAccountCurrentUser(ctx)
		return err
	})
	if err != nil {
		return Account{}, err
	}
	return fromMastodonAccount(a), nil
}

// Lookup finds an account the server knows by acct ("alice" for a local
// account, "alice@other.example" for a known remote one), without WebFinger.
// An unknown account fails with IsStatus(err, 404).
func (c *Client) Lookup(ctx context.Context, acct string) (Account, error) {
	var a *mastodon.Account
	err := c.viaMastodon(ctx, http.MethodGet, "/api/v1/accounts/lookup", func(ctx context.Context) (err error) {
		a, err = c.md.AccountLookup(ctx, trimAt(acct))
		return err
	})
	if err != nil {
		return Account{}, err
	}
	return fromMastodonAccount(a), nil
}

func trimAt(acct string) string {
	if len(acct) > 0 && acct[0] == '@' {
		return acct[1:]
	}
	return acct
}

// Follow follows the account with id. Following an account already followed
// (or already requested) succeeds: servers answer 200 with the relationship.
func (c *Client) Follow(ctx context.Context, id string) (Relationship, error) {
	var r *mastodon.Relationship
	err := c.viaMastodon(ctx, http.MethodPost, "/api/v1/accounts/:id/follow", func(ctx context.Context) (err error) {
		r, err = c.md.AccountFollow(ctx, mastodon.ID(id))
		return err
	})
	if err != nil {
		return Relationship{}, err
	}
	return Relationship{ID: string(r.ID), Following: r.Following, Requested: r.Requested,
		FollowedBy: r.FollowedBy, Blocking: r.Blocking, Muting: r.Muting}, nil
}

// AuthorizeFollowRequest accepts the follow request from the account with
// id (POST /api/v1/follow_requests/:id/authorize). Accounts on
// GoToSocial are locked by default, so a follow between group members is
// only a request until its target accepts it.
func (c *Client) AuthorizeFollowRequest(ctx context.Context, id string) (Relationship, error) {
	var r Relationship
	_, err := c.do(ctx, request{method: http.MethodPost, path: "/api/v1/follow_requests/" + url.PathEscape(id) + "/authorize", auth: true}, &r)
	return r, err
}

// FollowRequests returns every account whose follow request awaits the
// caller's answer (GET /api/v1/follow_requests, all pages).
func (c *Client) FollowRequests(ctx context.Context) ([]Account, error) {
	return pages[Account](ctx, c, "/api/v1/follow_requests", url.Values{"limit": {"80"}})
}

// Unfollow undoes a follow of, or a follow request to, the account with id.
// Undoing what does not exist succeeds.
func (c *Client) Unfollow(ctx context.Context, id string) (Relationship, error) {
	var r Relationship
	_, err := c.do(ctx, request{method: http.MethodPost, path: "/api/v1/accounts/" + url.PathEscape(id) + "/unfollow", auth: true}, &r)
	return r, err
}

// Relationship returns the caller's relationship with account id.
func (c *Client) Relationship(ctx context.Context, id string) (Relationship, error) {
	rs, err := c.Relationships(ctx, []string{id})
	if err != nil {
		return Relationship{}, err
	}
	if len(rs) == 0 {
		return Relationship{}, &Error{Status: http.StatusNotFound, Message: "no relationship with " + id, Method: http.MethodGet, Path: "/api/v1/accounts/relationships"}
	}
	return rs[0], nil
}

// Relationships returns the caller's relationships with the accounts ids,
// read from the follows themselves (unlike the counts on an account,
// which GoToSocial updates a moment later). It asks 40 at a time.
func (c *Client) Relationships(ctx context.Context, ids []string) ([]Relationship, error) {
	var out []Relationship
	for len(ids) > 0 {
		n := min(len(ids), 40)
		var rs []Relationship
		_, err := c.do(ctx, request{method: http.MethodGet, path: "/api/v1/accounts/relationships", query: url.Values{"id[]": ids[:n]}, auth: true}, &rs)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
		ids = ids[n:]
	}
	return out, nil
}

// Following returns every account that id follows (all pages).
func (c *Client) Following(ctx context.Context, id string) ([]Account, error) {
	return pages[Account](ctx, c, "/api/v1/accounts/"+url.PathEscape(id)+"/following", url.Values{"limit": {"80"}})
}

// Followers returns every account that follows id (all pages).
func (c *Client) Followers(ctx context.Context, id string) ([]Account, error) {
	return pages[Account](ctx, c, "/api/v1/accounts/"+url.PathEscape(id)+"/followers", url.Values{"limit": {"80"}})
}

// Lists returns the caller's lists.
func (c *Client) Lists(ctx context.Context) ([]List, error) {
	var ls []*mastodon.List
	err := c.viaMastodon(ctx, http.MethodGet, "/api/v1/lists", func(ctx context.Context) (err error) {
		ls, err = c.md.GetLists(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]List, 0, len(ls))
	for _, l := range ls {
		out = append(out, List{ID: string(l.ID), Title: l.Title})
	}
	return out, nil
}

// CreateList creates a list. Titles need not be unique on Mastodon
// (GoToSocial refuses duplicates): look in Lists first to stay idempotent.
func (c *Client) CreateList(ctx context.Context, title string) (List, error) {
	var l *mastodon.List
	err := c.viaMastodon(ctx, http.MethodPost, "/api/v1/lists", func(ctx context.Context) (err error) {
		l, err = c.md.CreateList(ctx, title)
		return err
	})
	if err != nil {
		return List{}, err
	}
	return List{ID: string(l.ID), Title: l.Title}, nil
}

// AddToList adds accounts (which the caller must follow) to a list. Accounts
// already in the list are fine: servers answer 422 for them, and then the
// accounts still missing are added one by one.
func (c *Client) AddToList(ctx context.Context, listID string, accountIDs []string) error {
	if len(accountIDs) == 0 {
		return nil
	}
	err := c.addToList(ctx, listID, accountIDs)
	if !IsStatus(err, http.StatusUnprocessableEntity) {
		return err
	}
	members, lerr := c.ListAccounts(ctx, listID)
	if lerr != nil {
		return err
	}
	in := map[string]bool{}
	for _, a := range members {
		in[a.ID] = true
	}
	for _, id := range accountIDs {
		if in[id] {
			continue
		}
		if err := c.addToList(ctx, listID, []string{id}); err != nil && !(IsStatus(err, http.StatusUnprocessableEntity) && c.inList(ctx, listID, id)) {
			return err
		}
		in[id] = true
	}
	return nil
}

func (c *Client) addToList(ctx context.Context, listID string, ids []string) error {
	mids := make([]mastodon.ID, len(ids))
	for i, id := range ids {
		mids[i] = mastodon.ID(id)
	}
	return c.viaMastodon(ctx, http.MethodPost, "/api/v1/lists/:id/accounts", func(ctx context.Context) error {
		return c.md.AddToList(ctx, mastodon.ID(listID), mids...)
	})
}

func (c *Client) inList(ctx context.Context, listID, id string) bool {
	members, err := c.ListAccounts(ctx, listID)
	return err == nil && slices.ContainsFunc(members, func(a Account) bool { return a.ID == id })
}

// ListAccounts returns every account in a list (all pages).
func (c *Client) ListAccounts(ctx context.Context, listID string) ([]Account, error) {
	return pages[Account](ctx, c, "/api/v1/lists/"+url.PathEscape(listID)+"/accounts", url.Values{"limit": {"80"}})
}

// Visibility values for PostStatus.
const (
	Public   = "public"
	Unlisted = "unlisted"
	Private  = "private" // followers only
	Direct   = "direct"
)

// PostStatus posts a status; empty visibility means the account's default.
func (c *Client) PostStatus(ctx context.Context, text, visibility string) (Status, error) {
	var s *mastodon.Status
	err := c.viaMastodon(ctx, http.MethodPost, "/api/v1/statuses", func(ctx context.Context) (err error) {
		s, err = c.md.PostStatus(ctx, &mastodon.Toot{Status: text, Visibility: visibility})
		return err
	})
	if err != nil {
		return Status{}, err
	}
	return fromMastodonStatus(s), nil
}

// AccountStatuses returns an account's statuses, newest first (all pages).
func (c *Client) AccountStatuses(ctx context.Context, id string) ([]Status, error) {
	return pages[Status](ctx, c, "/api/v1/accounts/"+url.PathEscape(id)+"/statuses", url.Values{"limit": {"40"}})
}

// ImportFollows uploads a following CSV (header "Account address,Show
// boosts,Notify on new posts,Languages") to GoToSocial's POST /api/v1/import.
// The server answers 202 and follows in the background. overwrite unfollows
// accounts not in the file. Mastodon has no such API (404).
func (c *Client) ImportFollows(ctx context.Context, csv []byte, overwrite bool) error {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	mode := "merge"
	if overwrite {
		mode = "overwrite"
	}
	_ = w.WriteField("type", "following")
	_ = w.WriteField("mode", mode)
	fw, err := w.CreateFormFile("data", "following_accounts.csv")
	if err != nil {
		return err
	}
	if _, err := fw.Write(csv); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("fedi: import: %w", err)
	}
	_, err = c.do(ctx, request{method: http.MethodPost, path: "/api/v1/import", body: bytes.NewReader(body.Bytes()),
		ctype: w.FormDataContentType(), auth: true}, nil)
	return err
}
