package existingtest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Hostile is what an attacker puts in every text field: clear the screen
// and home the cursor, set the window title (OSC, ended by BEL and by ST),
// a one-byte C1 CSI, a carriage return that overwrites the line, and bidi
// overrides, isolates and marks that reorder a key fingerprint.
const Hostile = "\x1b[2J\x1b[H\x1b]0;pwned\x07\x1b]2;again\x1b\\\u009b31m\rOK \u202e40ca-36ff\u202c\u2066x\u2069\u200f"

// HostileMastodon starts a server that answers like the open fixture with
// Hostile added to every string it sends, except the nodeinfo link (which
// a scout must follow to read the rest) and times (which must parse).
func HostileMastodon(t testing.TB) *httptest.Server {
	t.Helper()
	fixture := Handler(Open)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		fixture.ServeHTTP(rec, r)
		var v any
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Errorf("%s: the fixture is not JSON: %v", r.URL.Path, err)
		}
		b, _ := json.Marshal(poison("", v))
		w.Header().Set("Content-Type", rec.Header().Get("Content-Type"))
		w.WriteHeader(rec.Code)
		w.Write(b)
	}))
	t.Cleanup(s.Close)
	return s
}

func poison(key string, v any) any {
	switch x := v.(type) {
	case string:
		if key == "href" || key == "rel" || strings.HasSuffix(key, "_at") {
			return x
		}
		return x + Hostile
	case []any:
		for i := range x {
			x[i] = poison(key, x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = poison(k, x[k])
		}
	}
	return v
}
