package escape

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/playbooks"
	"github.com/lifeboat-social/lifeboat/provision"
)

// counting is a destination that is up at once and counts its starts.
type counting struct{ starts int }

func (c *counting) Start(context.Context, progress.Func) (*provision.Server, error) {
	c.starts++
	return &provision.Server{URL: "http://127.0.0.1:9", Software: "gotosocial"}, nil
}
func (*counting) Stop(context.Context) error { return nil }

// A playbook whose destination step is not marked always still works
// when a later process resumes it: the journal skips the done step, and
// the steps that need the server start the destination themselves.
func TestResumedPlaybookWithoutAlways(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{Dir: filepath.Join(t.TempDir(), "state")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	full, err := playbooks.Parse("t.yaml", []byte(`name: t
steps:
  - {id: destination, title: Start, do: destination.start}
  - {id: mesh, title: Seed, do: arrival.seed}
`))
	if err != nil {
		t.Fatal(err)
	}
	// the first run is killed right after the destination step
	cut := full
	cut.Steps = full.Steps[:1]
	g := &groups.Group{Version: 1, Name: "resumed", Title: "Resumed", ViableMass: 2,
		Lead:    groups.Person{Name: "A", Email: "a@example.org"},
		Members: []groups.Member{{Name: "A", Email: "a@example.org"}, {Name: "B", Email: "b@example.org"}}}
	for run, pb := range []playbooks.Playbook{cut, full} {
		dest := &counting{}
		x := New(Config{Store: st, Group: g, Dest: dest})
		if err := x.runPlaybook(ctx, "t", pb); err != nil {
			t.Fatalf("run %d: %v", run+1, err)
		}
		if dest.starts != 1 {
			t.Errorf("run %d started the destination %d times, want once", run+1, dest.starts)
		}
	}
}
