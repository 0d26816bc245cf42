// Package existingtest serves fixtures of Mastodon 4.3's JSON for tests:
// an open, an approval-mode and a closed server, on httptest servers. Its
// admin API refuses every token the way Mastodon refuses one without the
// admin scopes.
package existingtest

import (
	"embed"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

//go:embed testdata/mastodon
var fixtures embed.FS

// Kinds of fixture server.
const (
	Open     = "open"
	Approval = "approval"
	Closed   = "closed"
)

// Mastodon starts a fixture server of the given kind, closed when the
// test ends.
func Mastodon(t testing.TB, kind string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(Handler(kind))
	t.Cleanup(s.Close)
	return s
}

// Handler answers like a Mastodon server of the given kind; for an
// unknown kind it answers 404 to /api/v2/instance.
func Handler(kind string) http.Handler {
	file := func(name string) []byte {
		b, err := fixtures.ReadFile("testdata/mastodon/" + name)
		if err != nil {
			panic(err)
		}
		return b
	}
	mux := http.NewServeMux()
	serve := func(status int, body []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(status)
			w.Write(body)
		}
	}
	if b, err := fixtures.ReadFile("testdata/mastodon/instance-" + kind + ".json"); err == nil {
		mux.Handle("GET /api/v2/instance", serve(200, b))
	}
	mux.Handle("GET /api/v1/instance/rules", serve(200, file("rules.json")))
	mux.HandleFunc("GET /.well-known/nodeinfo", func(w http.ResponseWriter, r *http.Request) {
		b := strings.ReplaceAll(string(file("well-known-nodeinfo.json")), "https://social.example", "http://"+r.Host)
		serve(200, []byte(b))(w, r)
	})
	mux.Handle("GET /nodeinfo/2.0", serve(200, file("nodeinfo.json")))
	switch kind {
	case Open:
		mux.Handle("GET /api/v1/instance/domain_blocks", serve(200, file("domain_blocks.json")))
	case Approval:
		mux.Handle("GET /api/v1/instance/domain_blocks", serve(401, []byte(`{"error":"The access token is invalid"}`)))
	}
	// Doorkeeper's answer to a token without the scope.
	scope := serve(403, []byte(`{"error":"This action is outside the authorized scopes"}`))
	mux.Handle("/api/v2/admin/", scope)
	mux.Handle("/api/v1/admin/", scope)
	mux.Handle("/", serve(404, []byte(`{"error":"Record not found"}`)))
	return mux
}

// NotMastodon starts a server that answers every path with an HTML page.
func NotMastodon(t testing.TB) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<!doctype html><title>My blog</title><p>Hello"))
	}))
	t.Cleanup(s.Close)
	return s
}

// DeadURL is a loopback URL where nothing listens.
func DeadURL(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}
