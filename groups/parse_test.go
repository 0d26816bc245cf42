package groups_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/groups"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// TestGolden parses every testdata/*.yaml and compares the problems, as
// `lifeboat check` prints them, with the .golden file beside it. Files
// named valid-*.yaml must have no problems; every other file must have some.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 20 {
		t.Fatalf("found %d test files, want at least 20", len(files))
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(strings.TrimSuffix(name, ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			g, probs := groups.Parse(name, data)
			var got strings.Builder
			for _, p := range probs {
				got.WriteString(p.String() + "\n")
			}
			valid := strings.HasPrefix(name, "valid-")
			switch {
			case valid && len(probs) > 0:
				t.Errorf("want no problems, got:\n%s", got.String())
			case !valid && len(probs) == 0:
				t.Errorf("want problems, got none")
			case (g == nil) != (len(probs) > 0):
				t.Errorf("Parse returned group %v with %d problems", g != nil, len(probs))
			}
			golden := strings.TrimSuffix(path, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got.String() != string(want) {
				t.Errorf("problems differ from %s\n--- got\n%s--- want\n%s", golden, got.String(), want)
			}
		})
	}
}

func TestExamples(t *testing.T) {
	files, err := filepath.Glob("../examples/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"river-birders.yaml": false, "existing-server.yaml": false, "new-hetzner.yaml": false, "open-join.yaml": false}
	for _, path := range files {
		g, probs := groups.Load(path)
		if len(probs) > 0 {
			t.Errorf("%s:\n%s", path, probs.Error())
			continue
		}
		if _, ok := want[filepath.Base(path)]; ok {
			want[filepath.Base(path)] = true
		}
		if vp := g.Validate(); len(vp) > 0 {
			t.Errorf("%s: Validate after Load:\n%s", path, vp.Error())
		}
	}
	for name, seen := range want {
		if !seen {
			t.Errorf("examples/%s is missing or invalid", name)
		}
	}
}

func TestRiverBirders(t *testing.T) {
	g, probs := groups.Load("../examples/river-birders.yaml")
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if g.Name != "river-birders" || len(g.Members) != 12 || g.ViableMass != 8 {
		t.Errorf("got name %q, %d members, viable_mass %d; want river-birders, 12, 8", g.Name, len(g.Members), g.ViableMass)
	}
	if g.Destination.Type != groups.DestLocal || g.Destination.Software != groups.SoftwareGoToSocial {
		t.Errorf("destination = %+v, want local gotosocial", g.Destination)
	}
	if g.Deadline == nil || g.Deadline.Year() != 2027 {
		t.Errorf("deadline = %v, want a day in 2027", g.Deadline)
	}
	for i, m := range g.Members {
		if m.Name == "" || !strings.HasSuffix(m.Email, "@example.org") || m.Handle == "" || m.Username == "" {
			t.Errorf("member %d is incomplete: %+v", i+1, m)
		}
	}
}

func TestDeadline(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"2027-01-31", "2027-01-31T23:59:59Z"},
		{"2027-01-31T12:00:00+02:00", "2027-01-31T10:00:00Z"},
		{"2027-01-31T12:00:00Z", "2027-01-31T12:00:00Z"},
	} {
		g, probs := groups.Parse("g.yaml", []byte(minimal("deadline: "+tc.in)))
		if len(probs) > 0 {
			t.Errorf("%s: %v", tc.in, probs)
			continue
		}
		if got := g.Deadline.Format(time.RFC3339); got != tc.want {
			t.Errorf("deadline %s = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// launch_at is a moment: a date and time with a zone, kept in UTC.
func TestLaunchAt(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"2027-03-01T18:30:00+01:00", "2027-03-01T17:30:00Z"},
		{"2027-03-01T18:30:00Z", "2027-03-01T18:30:00Z"},
		{"2027-03-01T18:30:00", ""},
		{"2027-03-01", ""},
		{"tomorrow at six", ""},
	} {
		g, probs := groups.Parse("g.yaml", []byte(minimal("launch_at: "+tc.in)))
		if tc.want == "" {
			if len(probs) != 1 || !strings.Contains(probs[0].String(), "launch_at") || !strings.Contains(probs[0].String(), "with a zone") {
				t.Errorf("%s: problems %v, want one naming launch_at and the zone", tc.in, probs)
			}
			continue
		}
		if len(probs) > 0 {
			t.Errorf("%s: %v", tc.in, probs)
			continue
		}
		if got := g.LaunchAt.Format(time.RFC3339); got != tc.want {
			t.Errorf("launch_at %s = %s, want %s", tc.in, got, tc.want)
		}
	}
	if g, _ := groups.Parse("g.yaml", []byte(minimal(""))); g.LaunchAt != nil {
		t.Errorf("no launch_at parsed as %v", g.LaunchAt)
	}
}

func TestServerURLs(t *testing.T) {
	for _, tc := range []struct {
		server string
		ok     bool
	}{
		{"https://social.example", true},
		{"https://social.example/", true},
		{"https://social.example:8443", true},
		{"http://127.0.0.1:8080", true},
		{"http://127.1.2.3", true},
		{"http://[::1]:8080", true},
		{"http://localhost:3000", true},
		{"http://LOCALHOST", true},
		{"http://social.example", false},
		{"http://10.0.0.1", false},
		{"http://localhost.evil.example", false},
		{"ftp://social.example", false},
		{"social.example", false},
		{"https://", false},
		{"https://user:pw@social.example", false},
		{"https://social.example/path", false},
		{"https://social.example?x=1", false},
		{"https://social.example#top", false},
	} {
		doc := strings.Replace(minimal(""), "destination: {type: local}", "destination: {type: existing, server: \""+tc.server+"\"}", 1)
		_, probs := groups.Parse("g.yaml", []byte(doc))
		if ok := len(probs) == 0; ok != tc.ok {
			t.Errorf("server %q: ok = %v, want %v (%v)", tc.server, ok, tc.ok, probs)
		}
	}
}

func TestEmails(t *testing.T) {
	for _, tc := range []struct {
		email string
		ok    bool
	}{
		{"bo2@example.org", true},
		{"ada.lovelace+lifeboat@mail.example.co.uk", true},
		{"ada@example", false},
		{"ada@.example.org", false},
		{"ada@example.org.", false},
		{"ada@example..org", false},
		{"Ada <ada@example.org>", false},
		{"<ada@example.org>", false},
		{"ada", false},
		{"@example.org", false},
		{"ada@@example.org", false},
	} {
		doc := strings.Replace(minimal(""), "email: bo@example.org", "email: \""+tc.email+"\"", 1)
		_, probs := groups.Parse("g.yaml", []byte(doc))
		if ok := len(probs) == 0; ok != tc.ok {
			t.Errorf("email %q: ok = %v, want %v (%v)", tc.email, ok, tc.ok, probs)
		}
	}
}

func TestMemberLookup(t *testing.T) {
	g, probs := groups.Parse("g.yaml", []byte(minimal("")))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if m, ok := g.Member("BO@example.ORG"); !ok || m.Name != "Bo" {
		t.Errorf("Member(BO@example.ORG) = %+v, %v; want Bo", m, ok)
	}
	if _, ok := g.Member("nobody@example.org"); ok {
		t.Error("Member(nobody@example.org) found someone")
	}
}

func TestSoftwareOrDefault(t *testing.T) {
	for _, tc := range []struct {
		d    groups.Destination
		want string
	}{
		{groups.Destination{Type: groups.DestLocal}, "gotosocial"},
		{groups.Destination{Type: groups.DestNew, Software: "mastodon"}, "mastodon"},
		{groups.Destination{Type: groups.DestExisting}, ""},
	} {
		if got := tc.d.SoftwareOrDefault(); got != tc.want {
			t.Errorf("%+v: got %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestValidateGroupBuiltInCode(t *testing.T) {
	g, probs := groups.Parse("g.yaml", []byte(minimal("")))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if vp := g.Validate(); len(vp) > 0 {
		t.Fatalf("valid group: %v", vp)
	}
	g.ViableMass = 5
	g.Members = append(g.Members, g.Members[0])
	vp := g.Validate()
	if len(vp) != 2 || !strings.Contains(vp.Error(), "viable_mass is 5") || !strings.Contains(vp.Error(), "duplicate email") {
		t.Errorf("want viable_mass and duplicate email problems, got:\n%v", vp)
	}
}

func TestProblemsError(t *testing.T) {
	var ps groups.Problems
	if ps.Err() != nil {
		t.Error("empty Problems.Err() != nil")
	}
	ps = groups.Problems{{File: "a.yaml", Line: 2, Col: 3, Msg: "x"}, {File: "a.yaml", Msg: "y"}}
	if got, want := ps.Err().Error(), "a.yaml:2:3: x\na.yaml: y"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// minimal is a valid group file with extra lines added at the top level.
func minimal(extra string) string {
	return `version: 1
name: abc
title: A
viable_mass: 2
lead: {name: Ada, email: ada@example.org}
destination: {type: local}
members:
  - {name: Ada, email: ada@example.org}
  - {name: Bo, email: bo@example.org}
` + extra + "\n"
}

// With approval or open enrolment the join page brings people in: the
// file may list nobody, and viable_mass is not bounded by the list.
func TestEnrolment(t *testing.T) {
	open := strings.Replace(minimal("enrolment: open"), "viable_mass: 2", "viable_mass: 40", 1)
	g, probs := groups.Parse("g.yaml", []byte(open))
	if len(probs) > 0 || g.EnrolmentOrDefault() != groups.EnrolOpen {
		t.Fatalf("open, viable_mass above the list: %v (%q)", probs, g.Enrolment)
	}
	empty := `version: 1
name: abc
title: A
viable_mass: 10
enrolment: approval
lead: {name: Ada, email: ada@example.org}
destination: {type: local}
members: []
`
	g, probs = groups.Parse("g.yaml", []byte(empty))
	if len(probs) > 0 || len(g.Members) != 0 || g.Enrolment != groups.EnrolApproval {
		t.Fatalf("approval, no members: %v", probs)
	}
	if probs := g.Validate(); len(probs) > 0 {
		t.Fatalf("a joinable group without members validates again: %v", probs)
	}
	closed := strings.Replace(empty, "enrolment: approval", "enrolment: closed", 1)
	if _, probs := groups.Parse("g.yaml", []byte(closed)); len(probs) != 1 ||
		!strings.Contains(probs[0].String(), "g.yaml:8:10: `members` is empty") ||
		!strings.Contains(probs[0].String(), "enrolment: open") {
		t.Fatalf("closed, no members: %v", probs)
	}
	if g, _ := groups.Parse("g.yaml", []byte(minimal(""))); g.EnrolmentOrDefault() != groups.EnrolClosed {
		t.Errorf("no enrolment reads as %q, want closed", g.EnrolmentOrDefault())
	}
}
