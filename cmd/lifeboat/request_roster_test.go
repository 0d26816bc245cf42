package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/provision/existing/existingtest"
)

// rosterGroup is the example existing-server group with approval
// enrolment, asking srv.
func rosterGroup(t *testing.T, srv string) string {
	t.Helper()
	yaml, err := os.ReadFile("../../examples/existing-server.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(yaml), "https://social.example", srv, 1) + "enrolment: approval\n"
	file := filepath.Join(t.TempDir(), "knitters.yaml")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// admissionStatus is what pledges status --json says of the admission.
func admissionStatus(t *testing.T, state, file string) (missing int, note string) {
	t.Helper()
	out, errs, code := lb(t, state, "pledges", "status", file, "--json")
	if code != 0 {
		t.Fatalf("pledges status: exit %d: %s", code, errs)
	}
	var s struct {
		Missing int    `json:"admission_missing"`
		Note    string `json:"admission_note"`
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return s.Missing, s.Note
}

// The request carries the people who joined and were approved; someone
// approved after the admin accepted is named by pledges status and by
// the import of the answer until an amendment adds them.
func TestRequestCarriesJoinsCommands(t *testing.T) {
	lead, admin := t.TempDir(), t.TempDir()
	srv := existingtest.Mastodon(t, existingtest.Approval).URL
	file := rosterGroup(t, srv)
	dir := t.TempDir()

	joins(t, lead, "harbour-knitters", store.Join{Name: "Quinn Twist", Email: "quinn@example.org"},
		store.Join{Name: "Sam Spam", Email: "sam@example.net"})
	if out, errs, code := lb(t, lead, "members", "review", file, "--approve", "quinn@example.org", "--decline", "sam@example.net"); code != 0 {
		t.Fatalf("members review: exit %d\n%s\n%s", code, out, errs)
	}
	req := filepath.Join(dir, "request.json")
	out, errs, code := lb(t, lead, "request", file, "--out", req)
	if code != 0 || !strings.Contains(out, "(5 members)") {
		t.Fatalf("request: exit %d\n%s\n%s", code, out, errs)
	}
	answer := filepath.Join(dir, "answer.json")
	if out, errs, code := lb(t, admin, "admin", "review", req, "--accept", "--answer", answer); code != 0 {
		t.Fatalf("accept: exit %d\n%s\n%s", code, out, errs)
	}
	out, errs, code = lb(t, lead, "request", "accepted", file, answer)
	if code != 0 || !strings.Contains(out, "ready for the launch") || strings.Contains(out, "amendment") {
		t.Fatalf("import: exit %d\n%s\n%s", code, out, errs)
	}
	if n, note := admissionStatus(t, lead, file); n != 0 || note != "" {
		t.Fatalf("status right after the acceptance: %d %q", n, note)
	}

	// Two more join and are approved after the acceptance.
	joins(t, lead, "harbour-knitters", store.Join{Name: "Rafa Rib", Email: "rafa@example.org"},
		store.Join{Name: "Tess Tuck", Email: "tess@example.org"})
	want := "2 people joined since the admin accepted the request, and the server will not approve them; send an amendment: lifeboat request " + file + " --amend"
	if out, errs, code := lb(t, lead, "members", "review", file, "--approve", "rafa@example.org", "--approve", "tess@example.org"); code != 0 || !strings.Contains(out, "Admission: "+want) {
		t.Fatalf("members review lacks the warning: exit %d\n%s\n%s", code, out, errs)
	}
	if n, note := admissionStatus(t, lead, file); n != 2 || note != want {
		t.Fatalf("status after two joined: %d %q", n, note)
	}
	if out, _, _ := lb(t, lead, "pledges", "status", file); !strings.Contains(out, "admission: "+want) {
		t.Fatalf("pledges status lacks the warning:\n%s", out)
	}
	if out, _, _ := lb(t, lead, "request", "accepted", file, answer); !strings.Contains(out, "But "+want) {
		t.Fatalf("import again lacks the warning:\n%s", out)
	}

	amendment := filepath.Join(dir, "amendment.json")
	out, errs, code = lb(t, lead, "request", file, "--amend", "--out", amendment)
	if code != 0 || !strings.Contains(out, "2 members added, 0 removed") {
		t.Fatalf("amend: exit %d\n%s\n%s", code, out, errs)
	}
	if n, note := admissionStatus(t, lead, file); n != 0 || note != "" {
		t.Fatalf("status after the amendment: %d %q", n, note)
	}
	out, errs, code = lb(t, admin, "admin", "review", amendment, "--accept", "--answer", filepath.Join(dir, "amend-answer.json"))
	if code != 0 || !strings.Contains(out, "adds           2 members") || !strings.Contains(out, "admitted now") {
		t.Fatalf("review amendment: exit %d\n%s\n%s", code, out, errs)
	}
}
