package fedi

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// Instance is what scouting reads from GET /api/v2/instance.
type Instance struct {
	Domain      string   `json:"domain"`
	Title       string   `json:"title"`
	Version     string   `json:"version"`
	SourceURL   string   `json:"source_url"`
	Description string   `json:"description"`
	Languages   []string `json:"languages"`
	Usage       struct {
		Users struct {
			ActiveMonth int `json:"active_month"`
		} `json:"users"`
	} `json:"usage"`
	Configuration struct {
		Accounts struct {
			MaxFeaturedTags int `json:"max_featured_tags"`
		} `json:"accounts"`
		Statuses struct {
			MaxCharacters int `json:"max_characters"`
		} `json:"statuses"`
	} `json:"configuration"`
	Registrations struct {
		Enabled          bool   `json:"enabled"`
		ApprovalRequired bool   `json:"approval_required"`
		Message          string `json:"message"`
		URL              string `json:"url"`
		MinAge           int    `json:"min_age"`
		ReasonRequired   bool   `json:"reason_required"`
	} `json:"registrations"`
	Contact struct {
		Email   string   `json:"email"`
		Account *Account `json:"account"`
	} `json:"contact"`
	Rules []Rule `json:"rules"`
}

// Rule is one server rule.
type Rule struct {
	ID   string `json:"id"`
	Text string `json:"text"`
	Hint string `json:"hint"`
}

// NodeInfo is the part of NodeInfo 2.x that scouting reads.
type NodeInfo struct {
	Version  string `json:"version"`
	Software struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"software"`
	Protocols         []string `json:"protocols"`
	OpenRegistrations bool     `json:"openRegistrations"` // true in approval mode too
	Usage             struct {
		Users struct {
			Total          int `json:"total"`
			ActiveMonth    int `json:"activeMonth"`
			ActiveHalfyear int `json:"activeHalfyear"`
		} `json:"users"`
		LocalPosts int `json:"localPosts"`
	} `json:"usage"`
}

// DomainBlock is a publicly listed federation block.
type DomainBlock struct {
	Domain   string `json:"domain"`
	Digest   string `json:"digest"`
	Severity string `json:"severity"` // silence | suspend
	Comment  string `json:"comment"`
}

// InstanceV2 returns GET /api/v2/instance.
func (c *Client) InstanceV2(ctx context.Context) (Instance, error) {
	var in Instance
	_, err := c.do(ctx, request{method: http.MethodGet, path: "/api/v2/instance", auth: true}, &in)
	return in, err
}

// Rules returns GET /api/v1/instance/rules.
func (c *Client) Rules(ctx context.Context) ([]Rule, error) {
	var rs []Rule
	_, err := c.do(ctx, request{method: http.MethodGet, path: "/api/v1/instance/rules", auth: true}, &rs)
	return rs, err
}

// NodeInfo follows /.well-known/nodeinfo to the newest NodeInfo 2.x document
// on the same host.
func (c *Client) NodeInfo(ctx context.Context) (NodeInfo, error) {
	var wk struct {
		Links []struct {
			Rel  string `json:"rel"`
			Href string `json:"href"`
		} `json:"links"`
	}
	var ni NodeInfo
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/.well-known/nodeinfo"}, &wk); err != nil {
		return ni, err
	}
	best, bestRel := "", ""
	for _, l := range wk.Links {
		if strings.HasPrefix(l.Rel, "http://nodeinfo.diaspora.software/ns/schema/2.") && l.Rel > bestRel {
			best, bestRel = l.Href, l.Rel
		}
	}
	if best == "" {
		return ni, &Error{Status: http.StatusNotFound, Method: http.MethodGet, Path: "/.well-known/nodeinfo",
			Message: "no NodeInfo 2.x link"}
	}
	u, err := url.Parse(best)
	if err != nil {
		return ni, &Error{Status: http.StatusOK, Method: http.MethodGet, Path: "/.well-known/nodeinfo", Message: "bad NodeInfo link"}
	}
	// Only the path is used: the link names the server's public address,
	// which may differ from the base URL (loopback) the client was given.
	_, err = c.do(ctx, request{method: http.MethodGet, path: u.RequestURI()}, &ni)
	return ni, err
}

// DomainBlocks returns the server's public domain blocks: Mastodon's
// GET /api/v1/instance/domain_blocks, or GoToSocial's
// GET /api/v1/instance/peers?filter=suspended. Servers may hide the list
// (404 or 401 without a token).
func (c *Client) DomainBlocks(ctx context.Context) ([]DomainBlock, error) {
	var bs []DomainBlock
	_, err := c.do(ctx, request{method: http.MethodGet, path: "/api/v1/instance/domain_blocks", auth: true}, &bs)
	if !IsStatus(err, http.StatusNotFound) {
		return bs, err
	}
	var peers []struct {
		Domain        string `json:"domain"`
		SuspendedAt   string `json:"suspended_at"`
		SilencedAt    string `json:"silenced_at"`
		PublicComment string `json:"public_comment"`
	}
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/api/v1/instance/peers",
		query: url.Values{"filter": {"suspended"}}, auth: true}, &peers); err != nil {
		return nil, err
	}
	bs = bs[:0]
	for _, p := range peers {
		sev := "suspend"
		if p.SuspendedAt == "" && p.SilencedAt != "" {
			sev = "silence"
		}
		bs = append(bs, DomainBlock{Domain: p.Domain, Severity: sev, Comment: p.PublicComment})
	}
	return bs, nil
}
