package playbooks

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/lifeboat-social/lifeboat/internal/store"
)

func TestEmbeddedPlaybooksParse(t *testing.T) {
	for _, n := range Names() {
		if _, err := Load(n); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
	if _, err := Load("nope"); err == nil {
		t.Error("Load of a missing playbook succeeded")
	}
}

func TestParseRejects(t *testing.T) {
	for name, src := range map[string]string{
		"unknown field": "name: x\nsteps:\n  - {id: a, do: b, when: c}\n",
		"no do":         "name: x\nsteps:\n  - {id: a}\n",
		"twice":         "name: x\nsteps:\n  - {id: a, do: b}\n  - {id: a, do: c}\n",
		"empty":         "name: x\n",
	} {
		if _, err := Parse(name, []byte(src)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func openStore(t *testing.T) store.Store {
	st, err := store.Open(context.Background(), store.Config{Dir: filepath.Join(t.TempDir(), "state")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// A run that fails part-way resumes at the failed step: done steps are not
// run again, "always" steps are.
func TestRunResumes(t *testing.T) {
	st := openStore(t)
	pb, err := Parse("t", []byte(`name: t
steps:
  - {id: start, do: start, always: true}
  - {id: one, do: one}
  - {id: two, do: two}
  - {id: three, do: three}
`))
	if err != nil {
		t.Fatal(err)
	}
	var ran []string
	failTwo := true
	act := func(name string) Action {
		return func(context.Context) error {
			ran = append(ran, name)
			if name == "two" && failTwo {
				return errors.New("boom")
			}
			return nil
		}
	}
	e := &Runner{Journal: st.Journal(), Actions: map[string]Action{
		"start": act("start"), "one": act("one"), "two": act("two"), "three": act("three"),
	}}
	if err := e.Run(context.Background(), "r", pb); err == nil {
		t.Fatal("first run succeeded despite the failing step")
	}
	failTwo = false
	if err := e.Run(context.Background(), "r", pb); err != nil {
		t.Fatal(err)
	}
	want := []string{"start", "one", "two", "start", "two", "three"}
	if !reflect.DeepEqual(ran, want) {
		t.Errorf("ran %v, want %v", ran, want)
	}
	ran = nil
	if err := e.Run(context.Background(), "r", pb); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ran, []string{"start"}) {
		t.Errorf("third run ran %v, want only the always step", ran)
	}
}

func TestRunChecksActionsFirst(t *testing.T) {
	st := openStore(t)
	pb, _ := Parse("t", []byte("name: t\nsteps:\n  - {id: a, do: a}\n  - {id: b, do: missing}\n"))
	ran := false
	e := &Runner{Journal: st.Journal(), Actions: map[string]Action{"a": func(context.Context) error { ran = true; return nil }}}
	if err := e.Run(context.Background(), "r", pb); err == nil || ran {
		t.Errorf("run with a missing action: err=%v ran=%v; want an error before any step", err, ran)
	}
}
