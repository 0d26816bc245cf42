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
