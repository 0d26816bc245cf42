package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/store"
)

// People who joined from the join page are in the group's graph: the
// lead imports what they sent, matched by the fediverse address they
// typed, and `lifeboat analyze GROUP.yaml` counts those let in; someone
// who waits to be let in is not in it yet.
func TestAnalyzeGroupJoined(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	file := filepath.Join(dir, "group.yaml")
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("group.yaml", `version: 1
name: reed-follows
title: Reed Follows
viable_mass: 2
enrolment: open
lead: {name: Ada, email: ada@example.org}
destination: {type: local}
members:
  - {name: Ada, email: ada@example.org, handle: "@ada@social.example"}
  - {name: Ben, email: ben@example.org, handle: "@ben@social.example"}
`)
	csv := func(addrs ...string) string {
		return "Account address,Show boosts\n" + strings.Join(addrs, ",true\n") + ",true\n"
	}
	now := time.Now()
	// Dee confirmed her email (open enrolment: she is in); Eve has not.
	joins(t, state, "reed-follows",
		store.Join{Email: "dee@example.net", Name: "Dee", Fediverse: "@dee@gts.example", ConfirmedAt: now},
		store.Join{Email: "eve@example.net", Name: "Eve", Fediverse: "@eve@gts.example"})

	for _, c := range []struct{ member, file, want string }{
		{"ada@example.org", write("ada.csv", csv("dee@gts.example", "eve@gts.example")), "of fedi:@ada@social.example, kept for ada@example.org: follows 2"},
		{"dee@example.net", write("dee.csv", csv("ada@social.example", "ben@social.example")), "of fedi:@dee@gts.example, kept for dee@example.net: follows 2"},
		{"eve@example.net", write("eve.csv", csv("ada@social.example")), "of fedi:@eve@gts.example, kept for eve@example.net: follows 1"},
	} {
		out, errs, code := lb(t, state, "import", "--group", file, "--member", c.member, c.file)
		if code != 0 || !strings.Contains(out, c.want) {
			t.Fatalf("import for %s: exit %d, %q %q", c.member, code, out, errs)
		}
	}
	out, errs, code := lb(t, state, "analyze", file, "--min-follows", "1", "--json")
	if code != 0 || !strings.Contains(out, `"viable_size":2,"viable":["ada@example.org","dee@example.net"]`) {
		t.Fatalf("analyze: exit %d, %s %s", code, out, errs)
	}
	// Eve is in Ada's follows by her address only, as anyone outside.
	if strings.Contains(out, "eve@example.net") || !strings.Contains(out, "fedi:@eve@gts.example") {
		t.Fatalf("analyze names Eve as a member: %s", out)
	}
}
