// Package progress carries what long work reports as it goes: plain,
// typed events that the TUI and the plain or --json output both consume.
// Domain packages emit events and never know who is listening.
package progress

import (
	"strings"
	"time"
)

// Kind says what an Event reports.
type Kind string

const (
	StepStarted Kind = "step_started" // a named step began; Total may say how many items it has
	Advanced    Kind = "advanced"     // Done of Total items of Step are finished
	Log         Kind = "log"          // a line worth showing (e.g. a Terraform log line)
	StepDone    Kind = "step_done"    // Step finished
	Failed      Kind = "error"        // Step (or one item of it) failed; Message says what to do
)

// Event is one progress report.
type Event struct {
	Time    time.Time `json:"time"`
	Kind    Kind      `json:"kind"`
	Step    string    `json:"step,omitempty"`
	Item    string    `json:"item,omitempty"` // e.g. a member's email or a follow "a->b"
	Done    int       `json:"done,omitempty"`
	Total   int       `json:"total,omitempty"`
	Message string    `json:"message,omitempty"`
	// Err is a Failed event's error as the emitter had it, so a screen
	// decides what to advise with errors.Is, never from Message's words.
	Err error `json:"-"`
}

// Concerns reports whether the event is about the member with email:
// its Item is that email, or its Message names that exact address (not
// one that merely contains it: ann@example.org is not joann@example.org).
func (e Event) Concerns(email string) bool {
	if email == "" {
		return false
	}
	if strings.EqualFold(e.Item, email) {
		return true
	}
	msg, want := strings.ToLower(e.Message), strings.ToLower(email)
	for i := 0; ; {
		j := strings.Index(msg[i:], want)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(want)
		if (start == 0 || !addressByte(msg[start-1])) && (end == len(msg) || !addressByte(msg[end]) || msg[end] == '.' && (end+1 == len(msg) || !addressByte(msg[end+1]))) {
			return true
		}
		i = start + 1
	}
}

// addressByte reports whether b may be part of an email address.
func addressByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || strings.IndexByte(".-_+%@", b) >= 0
}

// Func receives events. It must be safe for concurrent use and must not
// block for long: emitters call it inline.
type Func func(Event)

// Emit sends e to f, stamping the time; a nil Func discards events.
func (f Func) Emit(e Event) {
	if f == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	f(e)
}

// Discard is a Func that drops every event.
func Discard(Event) {}
