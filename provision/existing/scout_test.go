package existing_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/lifeboat-social/lifeboat/internal/mastodonfake"
	"github.com/lifeboat-social/lifeboat/provision/existing"
	"github.com/lifeboat-social/lifeboat/provision/existing/existingtest"
)

func TestScoutMastodonFixtures(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		kind, registrations string
		active, blocks      int
		rules               []string
		contact             existing.Contact
		reason              bool
	}{
		{existingtest.Open, existing.Open, 12840, 2,
			[]string{"Sexually explicit or violent media must be marked as sensitive", "No racism, sexism, homophobia, transphobia, ableism, xenophobia, or casteism.", "No incitement of violence or promotion of violent ideologies", "Do not share intentionally false or misleading information"},
			existing.Contact{Email: "admin@social.example", Account: "@admin@social.example"}, false},
		{existingtest.Approval, existing.Approval, 830, -1, nil,
			existing.Contact{Email: "mods@approval.example", Account: "@admin@approval.example"}, true},
		// v2 lists no rules: they come from /api/v1/instance/rules.
		{existingtest.Closed, existing.Closed, 95, -1, []string{"Be excellent to each other", "No advertising"},
			existing.Contact{Email: "hello@closed.example"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.kind, func(t *testing.T) {
			srv := existingtest.Mastodon(t, tc.kind)
			r, err := existing.ScoutURL(ctx, srv.URL+"/", nil)
			if err != nil {
				t.Fatal(err)
			}
			if r.Software != "mastodon" || r.Version != "4.3.2" || r.Registrations != tc.registrations ||
				r.ActiveUsers != tc.active || r.DomainBlocks != tc.blocks || r.Contact != tc.contact ||
				r.MaxCharacters != 500 || r.ReasonRequired != tc.reason || r.URL != srv.URL {
				t.Errorf("report %+v", r)
			}
			if tc.rules != nil && !reflect.DeepEqual(r.Rules, tc.rules) {
				t.Errorf("rules %q", r.Rules)
			}
			if !slices.Equal(r.Languages, []string{"en", "de"}) {
				t.Errorf("languages %q", r.Languages)
			}
			b, _ := json.Marshal(r)
			var m map[string]any
			json.Unmarshal(b, &m)
			var keys []string
			for k := range m {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if got := strings.Join(keys, ","); got != "active_users,contact,languages,registrations,rules,software,version" {
				t.Errorf("JSON keys %s", got)
			}
		})
	}
}

func TestScoutFailures(t *testing.T) {
	ctx := context.Background()
	for name, tc := range map[string]struct {
		url  string
		kind error
	}{
		"html":     {existingtest.NotMastodon(t).URL, existing.ErrNotMastodon},
		"dead":     {existingtest.DeadURL(t), existing.ErrNoAnswer},
		"bad url":  {"ftp://x", existing.ErrNotMastodon},
		"404 json": {existingtest.Mastodon(t, "nonesuch").URL, existing.ErrNotMastodon},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := existing.ScoutURL(ctx, tc.url, nil)
			if !errors.Is(err, tc.kind) {
				t.Fatalf("got %v, want %v", err, tc.kind)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
		})
	}
}

func TestJudgeAndRank(t *testing.T) {
	open := &existing.Report{URL: "a", Software: "mastodon", Registrations: existing.Open, ActiveUsers: 10000}
	approval := &existing.Report{URL: "b", Software: "gotosocial", Registrations: existing.Approval, ActiveUsers: 5000, ReasonRequired: true}
	small := &existing.Report{URL: "c", Software: "mastodon", Registrations: existing.Open, ActiveUsers: 50}
	closed := &existing.Report{URL: "d", Software: "mastodon", Registrations: existing.Closed, ActiveUsers: 100000}
	odd := &existing.Report{URL: "e", Software: "misskey", Registrations: existing.Open}
	fs := []existing.Fit{}
	for _, r := range []*existing.Report{small, closed, approval, odd, open} {
		fs = append(fs, existing.Judge(r, 120))
	}
	existing.Rank(fs)
	var order, verdicts []string
	for _, f := range fs {
		order = append(order, f.Report.URL)
		verdicts = append(verdicts, f.Verdict)
	}
	if got := strings.Join(order, ""); got != "abecd" {
		t.Fatalf("order %s", got)
	}
	if got := strings.Join(verdicts, ","); got != "good,good,possible,poor,poor" {
		t.Fatalf("verdicts %s", got)
	}
	f := existing.Judge(small, 120)
	if !strings.Contains(strings.Join(f.Notes, "\n"), "larger than the server's active community (50)") {
		t.Fatalf("notes %q", f.Notes)
	}
}

// A server with a minimum age (Mastodon 4.4+: registrations.min_age, read
// here from the Mastodon stand-in) says so among its facts and in the
// group's fit, so the lead can tell members before they pledge; one
// without says nothing.
func TestScoutMinimumAge(t *testing.T) {
	for _, age := range []int{0, 16} {
		f := mastodonfake.Start(mastodonfake.Config{Mode: mastodonfake.Open, MinAge: age})
		t.Cleanup(f.Close)
		r, err := existing.ScoutURL(context.Background(), f.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.MinAge != age {
			t.Fatalf("min age %d, want %d", r.MinAge, age)
		}
		var fact string
		for _, row := range r.Facts() {
			if row[0] == "minimum age" {
				fact = row[1]
			}
		}
		note := strings.Join(existing.Judge(r, 10).Notes, "\n")
		if age == 0 {
			if fact != "" || strings.Contains(note, "at least") {
				t.Fatalf("no minimum age, yet fact %q, notes %q", fact, note)
			}
			continue
		}
		if fact != "16 (its sign-up asks for a date of birth)" || !strings.Contains(note, "members must be at least 16") {
			t.Fatalf("fact %q, notes %q", fact, note)
		}
	}
}
