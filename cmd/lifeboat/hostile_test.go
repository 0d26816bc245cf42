package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/lifeboat-social/lifeboat/provision/existing/admission"
	"github.com/lifeboat-social/lifeboat/provision/existing/existingtest"
)

const hostile = existingtest.Hostile

// assertHarmless fails when out holds a byte or character a terminal
// acts on (other than the newlines that end lines) or that reorders text.
func assertHarmless(t *testing.T, what string, out []byte) {
	t.Helper()
	if !utf8.Valid(out) {
		t.Errorf("%s is not UTF-8", what)
	}
	for i, r := range string(out) {
		if r == '\n' {
			continue
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || (r >= 0x202a && r <= 0x202e) ||
			(r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f || r == 0x061c {
			t.Errorf("%s holds %U at byte %d: …%q…", what, r, i, out[max(0, i-20):min(len(out), i+20)])
			return
		}
	}
}

// TestScoutHostileServer: a scouted server's title, rules, contact,
// languages, version and software reach the terminal as visible escapes,
// never as control characters.
func TestScoutHostileServer(t *testing.T) {
	srv := existingtest.HostileMastodon(t)
	out, errs, code := lb(t, t.TempDir(), "scout", srv.URL)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	assertHarmless(t, "scout's stdout", []byte(out))
	assertHarmless(t, "scout's stderr", []byte(errs))
	for _, want := range []string{`Example Social\x1b[2J\x1b[H\x1b]0;pwned\x07`, `\u009b31m\x0dOK \u202e40ca-36ff\u202c`,
		`1. Sexually explicit or violent media must be marked as sensitive\x1b[2J`} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	// The rules and the contact come from the server too.
	if strings.Count(out, `\x1b[2J`) < 6 {
		t.Errorf("the hostile text is not shown in every field:\n%s", out)
	}
	// Ranked with a group, the notes and verdicts are clean as well.
	out, errs, _ = lb(t, t.TempDir(), "scout", "--group", "../../examples/existing-server.yaml", srv.URL)
	assertHarmless(t, "scout --group's stdout", []byte(out))
	assertHarmless(t, "scout --group's stderr", []byte(errs))

	// An error that quotes what the server said is clean too.
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTeapot)
		w.Write([]byte(`{"error":"` + strings.ReplaceAll(strings.ReplaceAll(hostile, "\x1b", `\u001b`), "\a", `\u0007`) + `"}`))
	}))
	defer html.Close()
	out, errs, code = lb(t, t.TempDir(), "scout", html.URL)
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	assertHarmless(t, "scout's error", []byte(out+errs))
}

// TestReviewHostileRequest: a validly signed request whose every text
// field is hostile cannot fake what the admin reads. The fingerprint line
// is the one Lifeboat computed, and the title cannot reorder it.
func TestReviewHostileRequest(t *testing.T) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	req, err := admission.New(admission.Draft{
		Server:  "https://social.example/" + hostile,
		Group:   admission.Group{Name: "knitters" + hostile, Title: "Harbour Knitters" + hostile},
		Lead:    admission.Contact{Name: "Ada" + hostile, Email: "ada@example.org" + hostile},
		Emails:  []string{"a@example.org", "b@example.org"},
		Window:  admission.Window{From: now, Until: now.Add(72 * time.Hour)},
		Rules:   []string{"Be kind" + hostile, hostile},
		Message: "Hello\nsecond line" + hostile,
	}, key, now)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "request.json")
	if err := os.WriteFile(file, req.Encode(), 0o600); err != nil {
		t.Fatal(err)
	}
	admin := t.TempDir()
	for _, args := range [][]string{
		{"admin", "review", "--no-scout", file},
		{"admin", "review", "--no-scout", file, "--accept", "--message", "welcome"},
		{"admin", "review", "--no-scout", file}, // now with the recorded decision
	} {
		out, errs, _ := lb(t, admin, args...)
		assertHarmless(t, strings.Join(args, " ")+" stdout", []byte(out))
		assertHarmless(t, strings.Join(args, " ")+" stderr", []byte(errs))
		if !strings.Contains(out, `Harbour Knitters\x1b[2J`) {
			t.Errorf("%v: the title is not shown:\n%s", args, out)
		}
		if fp := "valid (group key " + req.Fingerprint() + ")"; !strings.Contains(out, fp) {
			t.Errorf("%v: no line %q:\n%s", args, fp, out)
		}
	}
	// The one-line form and a request whose signature fails print the
	// same way.
	out, errs, _ := lb(t, admin, "admin", "review", "--no-scout", req.Token())
	assertHarmless(t, "review of the one-line form", []byte(out+errs))
	tampered := bytes.Replace(req.Encode(), []byte("Harbour"), []byte("Harb0ur"), 1)
	if err := os.WriteFile(file, tampered, 0o600); err != nil {
		t.Fatal(err)
	}
	out, errs, code := lb(t, admin, "admin", "review", "--no-scout", file)
	if code == 0 || !strings.Contains(out, "INVALID") {
		t.Fatalf("tampered request: exit %d\n%s\n%s", code, out, errs)
	}
	assertHarmless(t, "review of a tampered request", []byte(out+errs))
}

// TestCheckHostileFile: a group file whose keys and values hold bidi
// overrides and isolates (YAML refuses the C0 and C1 controls themselves)
// is reported without them reaching the terminal.
func TestCheckHostileFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "g.yaml")
	doc := "version: 1\nname: \"river\u202e\"\ntitle: \"River\u202e 40ca\u2066\"\nviable_mass: 2\n" +
		"lead: {name: Ada, email: ada@example.org}\ndestination: {type: local}\nmembers:\n" +
		"  - {name: \"Ada\u2066\", email: ada@example.org}\n  - {name: Ben, email: \"ben\u200f@example.org\", \u202ecolour: red}\n"
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"check", file}, {"scout", "--group", file, "http://127.0.0.1:1"}, {"run", file}} {
		out, errs, code := lb(t, t.TempDir(), args...)
		if code != 2 || !strings.Contains(errs, `\u202ecolour`) {
			t.Errorf("%v: exit %d\n%s%s", args, code, out, errs)
		}
		assertHarmless(t, args[0]+" output", []byte(out+errs))
	}
}
