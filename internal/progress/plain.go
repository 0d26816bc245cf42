package progress

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/safetext"
)

// Plain returns a Func that writes events as plain lines, for output that
// is not a terminal or for --json runs (where the lines go to stderr).
// Advances of one step are printed at most every interval, and always
// when the step reaches its total.
func Plain(w io.Writer, interval time.Duration) Func {
	var mu sync.Mutex
	last := map[string]time.Time{}
	return func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		// messages quote servers, Terraform and members' emails
		e.Step, e.Message = safetext.Line(e.Step), safetext.Block(e.Message)
		switch e.Kind {
		case StepStarted:
			if e.Message != "" {
				fmt.Fprintf(w, "==> %s\n", e.Message)
			} else if e.Total > 0 {
				fmt.Fprintf(w, "  %s: %d of %d\n", e.Step, e.Done, e.Total)
			} else {
				fmt.Fprintf(w, "  %s…\n", e.Step)
			}
		case Advanced:
			if e.Done < e.Total && e.Time.Sub(last[e.Step]) < interval {
				return
			}
			last[e.Step] = e.Time
			fmt.Fprintf(w, "  %s: %d of %d\n", e.Step, e.Done, e.Total)
		case StepDone:
			if e.Message == "" {
				fmt.Fprintf(w, "  %s: done\n", e.Step)
			}
		case Log:
			fmt.Fprintf(w, "  %s\n", e.Message)
		case Failed:
			fmt.Fprintf(w, "  %s failed: %s\n", e.Step, e.Message)
		}
	}
}
