package meshcheck

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A server where "a" follows only "b" (missing "c") and "c"'s list holds
// "a" twice, and "a"'s list lacks "c" too: Verify must name exactly those.
func TestVerifyFindsGaps(t *testing.T) {
	following := map[string][]string{"a": {"b"}, "b": {"a", "c"}, "c": {"a", "b"}}
	listed := map[string][]string{"a": {"b"}, "b": {"a", "c"}, "c": {"a", "a", "b"}}
	who := func(r *http.Request) string { return strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer tok-") }
	accounts := func(ids []string) []map[string]string {
		out := []map[string]string{}
		for _, id := range ids {
			out = append(out, map[string]string{"id": id, "username": id, "acct": id})
		}
		return out
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/accounts/verify_credentials", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"id": who(r), "username": who(r), "acct": who(r)})
	})
	mux.HandleFunc("GET /api/v1/accounts/{id}/following", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(accounts(following[r.PathValue("id")]))
	})
	mux.HandleFunc("GET /api/v1/lists", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode([]map[string]string{{"id": "L" + who(r), "title": "Birders"}})
	})
	mux.HandleFunc("GET /api/v1/lists/{id}/accounts", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(accounts(listed[strings.TrimPrefix(r.PathValue("id"), "L")]))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	var ms []Member
	for _, id := range []string{"a", "b", "c"} {
		ms = append(ms, Member{Email: id + "@example.org", ID: id, Token: "tok-" + id})
	}
	err := Verify(context.Background(), srv.URL, "Birders", ms)
	if err == nil {
		t.Fatal("Verify passed a broken mesh")
	}
	msg := err.Error()
	for _, want := range []string{"a@example.org: follows: missing c@example.org", "c@example.org: list: twice a@example.org", "a@example.org: list: missing c@example.org"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Count(msg, "\n") != 3 {
		t.Errorf("want exactly three problems, got:\n%s", msg)
	}

	following["a"] = []string{"b", "c"}
	listed["a"] = []string{"b", "c"}
	listed["c"] = []string{"a", "b"}
	if err := Verify(context.Background(), srv.URL, "Birders", ms); err != nil {
		t.Errorf("exact mesh rejected: %v", err)
	}
}

// fakeServer is one server of a mesh across servers: every account it
// shows has its own id there, and remote ones are named user@domain.
type fakeServer struct {
	domain    string
	local     map[string]string   // token: local username
	following map[string][]string // local username: addresses
	followers map[string][]string // local username: addresses
	listed    map[string][]string // local username: addresses
	ids       map[string]string   // address: id on this server
}

func (f *fakeServer) start(t *testing.T) string {
	id := func(addr string) string { return f.ids[addr] }
	acct := func(addr string) string { return strings.TrimSuffix(addr, "@"+f.domain) }
	byID := func(i string) string {
		for a, v := range f.ids {
			if v == i {
				return strings.TrimSuffix(a, "@"+f.domain)
			}
		}
		return ""
	}
	accounts := func(addrs []string) []map[string]string {
		out := []map[string]string{}
		for _, a := range addrs {
			out = append(out, map[string]string{"id": id(a), "username": strings.Split(a, "@")[0], "acct": acct(a)})
		}
		return out
	}
	who := func(r *http.Request) string {
		return f.local[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v2/instance", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"domain": f.domain})
	})
	mux.HandleFunc("GET /api/v1/accounts/verify_credentials", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"id": id(who(r) + "@" + f.domain), "username": who(r), "acct": who(r)})
	})
	mux.HandleFunc("GET /api/v1/accounts/{id}/following", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(accounts(f.following[byID(r.PathValue("id"))]))
	})
	mux.HandleFunc("GET /api/v1/accounts/{id}/followers", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(accounts(f.followers[byID(r.PathValue("id"))]))
	})
	mux.HandleFunc("GET /api/v1/lists", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode([]map[string]string{{"id": "L" + who(r), "title": "Birders"}})
	})
	mux.HandleFunc("GET /api/v1/lists/{id}/accounts", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(accounts(f.listed[strings.TrimPrefix(r.PathValue("id"), "L")]))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestCheckAcrossServers: ana and ben live on room, cai on home. Each
// server shows the others under its own ids; the checker knows them by
// address, counts the mesh, and names a follow that reached only one of
// the two servers.
func TestCheckAcrossServers(t *testing.T) {
	everyoneBut := func(self string) []string {
		var out []string
		for _, a := range []string{"ana@room.test", "ben@room.test", "cai@home.test"} {
			if a != self {
				out = append(out, a)
			}
		}
		return out
	}
	mesh := func(domain string, users ...string) *fakeServer {
		f := &fakeServer{domain: domain, local: map[string]string{}, following: map[string][]string{},
			followers: map[string][]string{}, listed: map[string][]string{}}
		for _, u := range users {
			f.local["tok-"+u] = u
			f.following[u], f.followers[u], f.listed[u] = everyoneBut(u+"@"+domain), everyoneBut(u+"@"+domain), everyoneBut(u+"@"+domain)
		}
		return f
	}
	room, home := mesh("room.test", "ana", "ben"), mesh("home.test", "cai")
	roomURL, homeURL := room.start(t), home.start(t)
	// ids as each server gives them
	room.ids = map[string]string{"ana@room.test": "r1", "ben@room.test": "r2", "cai@home.test": "r3"}
	home.ids = map[string]string{"cai@home.test": "h1", "ana@room.test": "h2", "ben@room.test": "h3"}
	ms := []Member{
		{Email: "ana@example.org", ID: "r1", Token: "tok-ana"},
		{Email: "ben@example.org", ID: "r2", Token: "tok-ben"},
		{Email: "cai@example.org", ID: "h1", Token: "tok-cai", Server: homeURL},
	}
	ctx := context.Background()
	got, err := Check(ctx, roomURL, "Birders", ms)
	if err != nil {
		t.Fatalf("exact mesh across servers rejected: %v", err)
	}
	if want := (Counts{Follows: 6, Lists: 3, Listed: 6}); got != want {
		t.Errorf("counts %+v, want %+v", got, want)
	}

	// ana's follow of cai is on room, but home never heard of it.
	home.followers["cai"] = []string{"ben@room.test"}
	_, err = Check(ctx, roomURL, "Birders", ms)
	if err == nil || !strings.Contains(err.Error(), "cai@example.org: followers: missing ana@example.org") ||
		strings.Count(err.Error(), "\n") != 1 {
		t.Errorf("a follow that reached one server only: %v", err)
	}
	// On one server, ids alone: the same facts, and no instance lookup.
	home.followers["cai"] = everyoneBut("cai@home.test")
	if _, err := Check(ctx, homeURL, "Birders", ms[2:]); err == nil {
		t.Error("cai alone follows strangers, yet the check passed")
	}
}
