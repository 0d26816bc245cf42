package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

const membersGroup = `version: 1
name: reed-beds
title: Reed Beds
viable_mass: 5
enrolment: approval
lead: {name: Ada Heron, email: ada@example.org}
destination: {type: local}
members:
  - name: Ada Heron
    email: ada@example.org
`

// lbIn is lb with stdin.
func lbIn(t *testing.T, state, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	app := &App{Stdout: &out, Stderr: &errb, StateDir: state}
	defer app.Close()
	root := newRootCmd(app)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	if err := root.ExecuteContext(context.Background()); err != nil {
		if !errors.As(err, new(silentError)) {
			errb.WriteString(err.Error())
		}
		return out.String(), errb.String(), exitCode(err)
	}
	return out.String(), errb.String(), 0
}

// joins records people as the join page would, each with a confirmed
// pledge.
func joins(t *testing.T, state, group string, js ...store.Join) {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, store.Config{Dir: state})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := s.Groups().Put(ctx, store.Group{Name: group}); err != nil {
		t.Fatal(err)
	}
	var emails []string
	for i, j := range js {
		j.Group, j.CreatedAt = group, now.Add(time.Duration(i)*time.Second)
		if err := s.Joins().Add(ctx, j); err != nil {
			t.Fatal(err)
		}
		emails = append(emails, j.Email)
	}
	s.Close()
	pledge(t, state, group, emails...)
}

func membersJSON(t *testing.T, state, file string) []campaign.Person {
	t.Helper()
	out, errs, code := lb(t, state, "members", "list", file, "--json")
	if code != 0 {
		t.Fatalf("members list: exit %d: %s", code, errs)
	}
	var ps []campaign.Person
	if err := json.Unmarshal([]byte(out), &ps); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return ps
}

// The lead's roster commands: list shows where each person came from and
// where they stand (text from members sanitised), review decides from
// its prompts or its flags, remove takes a person who joined off with
// their pledge, and refuses, naming the file's line, a member the file
// lists.
func TestMembersCommands(t *testing.T) {
	state := t.TempDir()
	file := filepath.Join(t.TempDir(), "reed.yaml")
	if err := os.WriteFile(file, []byte(membersGroup), 0o600); err != nil {
		t.Fatal(err)
	}
	confirmed := time.Now()
	joins(t, state, "reed-beds",
		store.Join{Email: "bo@example.net", Name: "Bo Rail", X: "@borail", ConfirmedAt: confirmed},
		store.Join{Email: "cy@example.net", Name: "Cy \x1b[31mSnipe\u202e", ConfirmedAt: confirmed},
		store.Join{Email: "dee@example.net", Name: "Dee Stint"})

	out, errs, code := lb(t, state, "members", "list", file)
	if code != 0 {
		t.Fatalf("list: exit %d: %s", code, errs)
	}
	if strings.ContainsAny(out, "\x1b\u202e") || !strings.Contains(out, "Cy ") ||
		!strings.Contains(out, "bo@example.net") || !strings.Contains(out, "x:@borail") || !strings.Contains(out, "pending") {
		t.Fatalf("list:\n%q", out)
	}
	if st := statusJSON(t, state, file); st.Enrolled != 4 || st.Confirmed != 2 || st.Members != 1 || st.Going != 0 {
		t.Fatalf("status before review: %+v", st)
	}

	// Interactive: approve Bo, decline Cy, skip Dee.
	out, errs, code = lbIn(t, state, "y\nmaybe\nn\ns\n", "members", "review", file)
	if code != 0 || !strings.Contains(out, "approved bo@example.net") || !strings.Contains(out, "declined cy@example.net") ||
		!strings.Contains(out, "approve? [y]es, [n]o, [s]kip, [q]uit") || strings.Contains(out, "\x1b") {
		t.Fatalf("review: exit %d\n%s\nstderr: %q", code, out, errs)
	}
	if out, _, _ := lb(t, state, "members", "list", file, "--json"); strings.ContainsAny(out, "\x1b\u202e") || !strings.Contains(out, `Cy \\x1b[31mSnipe`) {
		t.Fatalf("list --json passes a member's control characters:\n%q", out)
	}
	ps := membersJSON(t, state, file)
	if len(ps) != 4 || ps[0].Source != campaign.SourceFile || ps[1].Approval != "approved" || !ps[1].Member || !ps[1].Going ||
		ps[2].Approval != "declined" || ps[3].Approval != "pending" {
		t.Fatalf("after review: %+v", ps)
	}
	// Scriptable: Dee by flag; an email nobody joined with is bad input.
	if out, errs, code := lb(t, state, "members", "review", file, "--approve", "dee@example.net"); code != 0 || !strings.Contains(out, "approved dee@example.net") {
		t.Fatalf("review --approve: exit %d: %s %s", code, out, errs)
	}
	if _, errs, code := lb(t, state, "members", "review", file, "--decline", "nobody@example.net"); code != 2 || !strings.Contains(errs, "nobody joined") {
		t.Fatalf("review of nobody: exit %d: %s", code, errs)
	}
	if st := statusJSON(t, state, file); st.Enrolled != 3 || st.Members != 3 || st.Going != 2 {
		t.Fatalf("status after review: %+v", st)
	}

	// Remove: a listed member names the file's line; a joined one goes
	// with their pledge.
	if _, errs, code := lb(t, state, "members", "remove", file, "ada@example.org"); code != 2 || !strings.Contains(errs, file+":10: ada@example.org is listed") {
		t.Fatalf("remove a listed member: exit %d: %s", code, errs)
	}
	if out, errs, code := lb(t, state, "members", "remove", file, "bo@example.net"); code != 0 || !strings.Contains(out, "removed bo@example.net") {
		t.Fatalf("remove: exit %d: %s %s", code, out, errs)
	}
	if _, errs, code := lb(t, state, "members", "remove", file, "bo@example.net"); code != 2 || !strings.Contains(errs, "nobody with that email") {
		t.Fatalf("remove twice: exit %d: %s", code, errs)
	}
	if ps := membersJSON(t, state, file); len(ps) != 3 {
		t.Fatalf("after remove: %+v", ps)
	}
	if st := statusJSON(t, state, file); st.Enrolled != 2 || st.Going != 1 || st.Pledged != 1 {
		t.Fatalf("status after remove: %+v", st)
	}
}
