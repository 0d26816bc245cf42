package hetzner

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lifeboat-social/lifeboat/groups"
)

// Ready walks the steps of up in order: no state, a state without the
// admin credentials (up cut short), a server that does not answer, one
// that answers over verified TLS.
func TestReadySteps(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	g := &groups.Group{Name: "valley", Destination: groups.Destination{Type: groups.DestNew, Domain: "social.example.org"}}
	var answer atomic.Bool
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v2/instance" || !answer.Load() {
			http.Error(w, "starting", http.StatusBadGateway)
			return
		}
		fmt.Fprint(w, `{"domain":"social.example.org"}`)
	}))
	defer srv.Close()
	d := NewDestination(Config{Group: g, Dir: dir})
	d.HTTP = srv.Client()
	check := func(step string, wantOK bool, want string) {
		t.Helper()
		ok, missing, err := d.Ready(ctx)
		if err != nil || ok != wantOK || !strings.Contains(missing, want) {
			t.Fatalf("%s: Ready = %v, %q, %v; want %v with %q", step, ok, missing, err, wantOK, want)
		}
	}
	check("no state", false, "does not exist yet: run lifeboat up")
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(stateFile, `{"resources":[]}`)
	check("empty state (after down)", false, "does not exist yet")
	write(stateFile, `{"resources":[{"type":"hcloud_server"}]}`)
	check("no credentials", false, "has not finished")
	write(credsFile, credsJSON(t, Credentials{Software: "gotosocial", URL: srv.URL, Username: "admin", Email: "a@example.org", Password: "x"}))
	check("not answering", false, "does not answer over HTTPS at "+srv.URL)
	answer.Store(true)
	check("answering", true, "")
	d.HTTP = &http.Client{}
	check("untrusted certificate", false, "certificate")
}
