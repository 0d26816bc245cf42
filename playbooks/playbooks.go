// Package playbooks holds the escape's steps as data — one playbook per
// destination type — and the engine that runs them. The engine journals
// every step in the store, so a run that was killed starts again where it
// stopped: finished steps are skipped, the interrupted one is run again
// (actions are written to be safe to repeat; item-level journaling inside
// them keeps their effects exactly-once).
package playbooks

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

//go:embed *.yaml
var files embed.FS

// Playbook is an ordered list of steps.
type Playbook struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Steps       []Step `yaml:"steps"`
}

// Step names an action to run.
type Step struct {
	ID    string `yaml:"id"`
	Title string `yaml:"title"`
	Do    string `yaml:"do"`
	// Always runs the step on every run, done or not: for steps whose
	// effect lives in the process (a started server, a client), which a
	// new process must redo. Such actions must be cheap when nothing is
	// left to do.
	Always bool `yaml:"always,omitempty"`
}

// Names lists the embedded playbooks.
func Names() []string {
	ents, _ := fs.ReadDir(files, ".")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(out)
	return out
}

// Load reads an embedded playbook by name.
func Load(name string) (Playbook, error) {
	b, err := files.ReadFile(name + ".yaml")
	if errors.Is(err, fs.ErrNotExist) {
		return Playbook{}, fmt.Errorf("no playbook %q (have %s)", name, strings.Join(Names(), ", "))
	}
	if err != nil {
		return Playbook{}, err
	}
	return Parse(name+".yaml", b)
}

// Parse reads a playbook and checks its shape.
func Parse(file string, b []byte) (Playbook, error) {
	var pb Playbook
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&pb); err != nil {
		return Playbook{}, fmt.Errorf("%s: %w", file, err)
	}
	seen := map[string]bool{}
	for i, s := range pb.Steps {
		if s.ID == "" || s.Do == "" {
			return Playbook{}, fmt.Errorf("%s: step %d needs an id and a do", file, i+1)
		}
		if seen[s.ID] {
			return Playbook{}, fmt.Errorf("%s: step id %q is used twice", file, s.ID)
		}
		seen[s.ID] = true
	}
	if len(pb.Steps) == 0 {
		return Playbook{}, fmt.Errorf("%s: no steps", file)
	}
	return pb, nil
}

// Action is what a step does.
type Action func(ctx context.Context) error

// Runner runs playbooks with a journal.
type Runner struct {
	Journal store.Journal
	Emit    progress.Func
	Actions map[string]Action
}

// Run runs pb's steps in order under the journal run id. Steps done in an
// earlier run are skipped unless marked always.
func (e *Runner) Run(ctx context.Context, run string, pb Playbook) error {
	for _, s := range pb.Steps {
		if e.Actions[s.Do] == nil {
			return fmt.Errorf("playbook %s: step %s: no action %q", pb.Name, s.ID, s.Do)
		}
	}
	for _, s := range pb.Steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		key := "step:" + s.ID
		if !s.Always {
			st, err := e.Journal.Get(ctx, run, key)
			if err == nil && st.Status == store.StepDone {
				e.Emit.Emit(progress.Event{Kind: progress.Log, Step: s.ID, Message: "already done: " + s.Title})
				continue
			}
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		if _, err := e.Journal.Start(ctx, run, key); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		e.Emit.Emit(progress.Event{Kind: progress.StepStarted, Step: s.ID, Message: s.Title})
		if err := e.Actions[s.Do](ctx); err != nil {
			e.Journal.Fail(context.WithoutCancel(ctx), run, key, err.Error())
			e.Emit.Emit(progress.Event{Kind: progress.Failed, Step: s.ID, Message: err.Error(), Err: err})
			return fmt.Errorf("%s: %w", s.Title, err)
		}
		if err := e.Journal.Finish(ctx, run, key, nil); err != nil {
			return err
		}
		e.Emit.Emit(progress.Event{Kind: progress.StepDone, Step: s.ID, Message: s.Title})
	}
	return nil
}
