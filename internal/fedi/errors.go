package fedi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Error is a non-success answer from a Mastodon-API server (or a rate-limit
// wait that Lifeboat refused to make). It never holds a token: only the method,
// the path without its query, and what the server said.
type Error struct {
	Status  int    // HTTP status
	Code    string // Mastodon error code such as ERR_TAKEN, from the first detail that has one
	Message string // the server's "error" (and "error_description" for OAuth errors)
	// Details are Mastodon's per-field validation errors (422 on sign-up).
	Details map[string][]Detail
	Method  string
	Path    string
	// RetryAt is set on 429/503 answers: when the server says to try again.
	RetryAt time.Time
}

// Detail is one validation error of one field.
type Detail struct {
	Error       string `json:"error"` // e.g. ERR_TAKEN, ERR_BLOCKED, ERR_INVALID
	Description string `json:"description"`
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("fedi: ")
	if e.Method != "" {
		b.WriteString(e.Method + " " + e.Path + ": ")
	}
	fmt.Fprintf(&b, "%d %s", e.Status, http.StatusText(e.Status))
	if e.Code != "" {
		b.WriteString(" (" + e.Code + ")")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if len(e.Details) > 0 {
		fields := make([]string, 0, len(e.Details))
		for f := range e.Details {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		for _, f := range fields {
			for _, d := range e.Details[f] {
				fmt.Fprintf(&b, "; %s %s", f, d.Error)
				if d.Description != "" {
					b.WriteString(" (" + d.Description + ")")
				}
			}
		}
	}
	if !e.RetryAt.IsZero() {
		fmt.Fprintf(&b, "; retry at %s", e.RetryAt.UTC().Format(time.RFC3339))
	}
	return b.String()
}

// IsStatus reports whether err is an *Error with the given HTTP status.
func IsStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}

// IsTaken reports whether a sign-up failed because the username or email is
// already in use: Mastodon answers 422 with ERR_TAKEN details, GoToSocial 409
// "username x is not available".
func IsTaken(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	if e.Status == http.StatusConflict {
		return true
	}
	if e.Status != http.StatusUnprocessableEntity {
		return false
	}
	if e.Code == "ERR_TAKEN" {
		return true
	}
	for _, ds := range e.Details {
		for _, d := range ds {
			if d.Error == "ERR_TAKEN" {
				return true
			}
		}
	}
	m := strings.ToLower(e.Message)
	return strings.Contains(m, "taken") || strings.Contains(m, "not available")
}

// IsRateLimited reports whether err is a 429 (or a throttling 503) that
// Lifeboat gave up waiting for; RetryAt on the *Error says when to come back.
func IsRateLimited(err error) bool {
	var e *Error
	return errors.As(err, &e) && (e.Status == http.StatusTooManyRequests ||
		(e.Status == http.StatusServiceUnavailable && !e.RetryAt.IsZero()))
}

// parseError builds an *Error from a response status and a (possibly empty or
// non-JSON) body.
func parseError(method, path string, status int, body []byte) *Error {
	e := &Error{Status: status, Method: method, Path: path}
	var v struct {
		Error       string              `json:"error"`
		Description string              `json:"error_description"`
		Details     map[string][]Detail `json:"details"`
	}
	if json.Unmarshal(body, &v) == nil {
		e.Message = v.Error
		if v.Description != "" && v.Description != v.Error {
			if e.Message != "" {
				e.Message += ": "
			}
			e.Message += v.Description
		}
		if len(v.Details) > 0 {
			e.Details = v.Details
			fields := make([]string, 0, len(v.Details))
			for f := range v.Details {
				fields = append(fields, f)
			}
			sort.Strings(fields)
		codes:
			for _, f := range fields {
				for _, d := range v.Details[f] {
					if d.Error != "" {
						e.Code = d.Error
						break codes
					}
				}
			}
		}
	} else if s := strings.TrimSpace(string(body)); s != "" && !strings.HasPrefix(s, "<") {
		if len(s) > 200 {
			s = s[:200] + "…"
		}
		e.Message = s
	}
	return e
}
