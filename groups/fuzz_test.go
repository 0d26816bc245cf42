package groups_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/lifeboat-social/lifeboat/groups"
)

// FuzzParse checks that Parse never panics, that it returns a group
// exactly when there are no problems, that every problem has a position
// inside the file, and that any group it accepts keeps the invariants the
// rest of the product relies on and survives a round trip through YAML.
func FuzzParse(f *testing.F) {
	for _, glob := range []string{"testdata/*.yaml", "../examples/*.yaml"} {
		files, _ := filepath.Glob(glob)
		for _, path := range files {
			data, err := os.ReadFile(path)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte(minimal("deadline: 2027-01-31T10:00:00.5+01:00")))
	f.Add([]byte("a: &a [*a]\nversion: *a"))
	f.Add([]byte("\xff\xfe"))

	f.Fuzz(func(t *testing.T, data []byte) {
		g, probs := groups.Parse("f.yaml", data)
		if (g == nil) == (len(probs) == 0) {
			t.Fatalf("group %v with %d problems", g != nil, len(probs))
		}
		// YAML breaks lines at CR, LF and CRLF alike, and so do the
		// positions of its problems.
		lines := strings.Count(strings.ReplaceAll(strings.ReplaceAll(string(data), "\r\n", "\n"), "\r", "\n"), "\n") + 2
		for i, p := range probs {
			if p.File != "f.yaml" || p.Line < 1 || p.Col < 1 || p.Line > lines || p.Msg == "" {
				t.Fatalf("bad problem %#v", p)
			}
			if i > 0 && (p.Line < probs[i-1].Line || p.Line == probs[i-1].Line && p.Col < probs[i-1].Col) {
				t.Fatalf("problems not sorted: %v then %v", probs[i-1], p)
			}
		}
		if g == nil {
			return
		}
		checkInvariants(t, g)
		out, err := yaml.Marshal(g)
		if err != nil {
			t.Fatalf("marshal accepted group: %v", err)
		}
		g2, probs2 := groups.Parse("again.yaml", out)
		if len(probs2) > 0 {
			t.Fatalf("accepted group does not re-validate:\n%s\n--- input\n%q\n--- marshalled\n%s", probs2.Error(), data, out)
		}
		if !sameGroup(g, g2) {
			t.Fatalf("round trip changed the group:\n%#v\n%#v", g, g2)
		}
	})
}

func checkInvariants(t *testing.T, g *groups.Group) {
	t.Helper()
	if g.Version != 1 {
		t.Fatalf("version %d", g.Version)
	}
	closed := g.EnrolmentOrDefault() == groups.EnrolClosed
	if n := len(g.Members); g.ViableMass < 2 || closed && g.ViableMass > n {
		t.Fatalf("viable_mass %d with %d members (enrolment %q)", g.ViableMass, n, g.Enrolment)
	}
	switch g.Enrolment {
	case "", groups.EnrolClosed, groups.EnrolApproval, groups.EnrolOpen:
	default:
		t.Fatalf("enrolment %q", g.Enrolment)
	}
	if l := len(g.Name); l < 3 || l > 40 || strings.Trim(g.Name, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		t.Fatalf("name %q is not a slug", g.Name)
	}
	switch g.Destination.Type {
	case groups.DestLocal, groups.DestNew:
		if s := g.Destination.Software; s != groups.SoftwareGoToSocial && s != groups.SoftwareMastodon {
			t.Fatalf("software %q", s)
		}
		if g.Destination.Server != "" {
			t.Fatalf("server %q on %s", g.Destination.Server, g.Destination.Type)
		}
	case groups.DestExisting:
		if g.Destination.Server == "" || g.Destination.Software != "" {
			t.Fatalf("existing destination %+v", g.Destination)
		}
	default:
		t.Fatalf("destination type %q", g.Destination.Type)
	}
	emails, handles, usernames := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, m := range g.Members {
		if strings.TrimSpace(m.Name) == "" || !strings.Contains(m.Email, "@") {
			t.Fatalf("member %+v", m)
		}
		for _, u := range []struct {
			seen  map[string]bool
			value string
		}{{emails, m.Email}, {handles, m.Handle}, {usernames, m.Username}} {
			k := strings.ToLower(u.value)
			if k != "" && u.seen[k] {
				t.Fatalf("duplicate %q", u.value)
			}
			u.seen[k] = true
		}
		if got, ok := g.Member(strings.ToUpper(m.Email)); !ok || got != m {
			t.Fatalf("Member(%q) = %+v, %v", m.Email, got, ok)
		}
	}
}

func sameGroup(a, b *groups.Group) bool {
	da, db := a.Deadline, b.Deadline
	if (da == nil) != (db == nil) || da != nil && !da.Equal(*db) {
		return false
	}
	ca, cb := *a, *b
	ca.Deadline, cb.Deadline = nil, nil
	return reflect.DeepEqual(ca, cb)
}
