package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAnnounceHostileGroupFile: the title and description come from the
// group file and reach the terminal as visible escapes, never as
// characters that reorder or hide text.
func TestAnnounceHostileGroupFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "group.yaml")
	data := "version: 1\nname: river-birders\ntitle: \"River \\u202eBirders\\u2066\"\ndescription: \"We \\u202ewalk\\u200f the river.\"\n" +
		"viable_mass: 2\nlead: {name: Ada, email: ada@example.org}\ndestination: {type: local}\nmembers:\n" +
		"  - {name: Ada, email: ada@example.org}\n  - {name: Bo, email: bo@example.org}\n"
	if err := os.WriteFile(file, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errs, code := lb(t, filepath.Join(dir, "state"), "announce", file, "--base-url", "https://lifeboat.example.org")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	assertHarmless(t, "announce's stdout", []byte(out))
	for _, want := range []string{`River \u202eBirders\u2066: leaving together`, `We \u202ewalk\u200f the river.`} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
}
