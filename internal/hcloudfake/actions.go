package hcloudfake

import "github.com/hetznercloud/hcloud-go/v2/hcloud/schema"

type action struct {
	schema.Action
	polls  int
	onDone func() // runs under f.mu when the action succeeds
	failAs *schema.ActionError
}

// newAction starts an action on resources; onDone runs when it succeeds.
func (f *Fake) newAction(command string, onDone func(), res ...schema.ActionResourceReference) *action {
	a := &action{Action: schema.Action{
		ID: f.nextAction, Status: "running", Command: command, Started: f.now(),
		Resources: append([]schema.ActionResourceReference{}, res...),
	}, onDone: onDone}
	f.nextAction++
	f.actions[a.ID] = a
	return a
}

// poll advances an action by one read.
func (f *Fake) poll(a *action) {
	if a.Status != "running" {
		return
	}
	a.polls++
	n := max(f.PollsPerAction, 1)
	a.Progress = min(100, a.polls*100/n)
	if a.polls < n {
		return
	}
	now := f.now()
	a.Finished = &now
	if a.failAs != nil {
		a.Status, a.Error = "error", a.failAs
		return
	}
	a.Status, a.Progress = "success", 100
	if a.onDone != nil {
		a.onDone()
		a.onDone = nil
	}
}

// FinishActions completes every running action at once (as if time passed).
func (f *Fake) FinishActions() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range sortedKeys(f.actions) {
		a := f.actions[id]
		for a.Status == "running" {
			f.poll(a)
		}
	}
}

func ref(kind string, id int64) schema.ActionResourceReference {
	return schema.ActionResourceReference{ID: id, Type: kind}
}

// one is the answer of an action endpoint that starts one action.
func one(a *action) (int, any, *apiError) {
	return 201, map[string]any{"action": a.Action}, nil
}
