package hcloudfake

import (
	"net/http"
	"strings"
	"time"
)

// Fault makes matching calls fail or hang.
type Fault struct {
	Method string // e.g. "POST"; empty matches any
	Path   string // path after /v1, e.g. "/volumes"; a trailing * matches a prefix
	Skip   int    // let this many matching calls through first
	Times  int    // affect this many calls (0: one; -1: all)
	Status int    // HTTP status (default 500)
	Code   string // error code (default server_error)
	Hang   bool   // block until the client gives up instead of answering
	// Delay answers only after this long (a busy API), then as if there
	// were no fault unless Status, Code or Hang say otherwise.
	Delay time.Duration

	hits int
}

// Inject adds a fault.
func (f *Fake) Inject(ft Fault) *Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := &ft
	f.faults = append(f.faults, p)
	return p
}

// ClearFaults removes every fault.
func (f *Fake) ClearFaults() {
	f.mu.Lock()
	f.faults = nil
	f.mu.Unlock()
}

func (f *Fake) matchFault(method, path string) *Fault {
	for _, ft := range f.faults {
		if ft.Method != "" && ft.Method != method {
			continue
		}
		if p, ok := strings.CutSuffix(ft.Path, "*"); ok {
			if !strings.HasPrefix(path, p) {
				continue
			}
		} else if ft.Path != path {
			continue
		}
		ft.hits++
		if ft.hits <= ft.Skip {
			continue
		}
		times := ft.Times
		if times == 0 {
			times = 1
		}
		if times > 0 && ft.hits > ft.Skip+times {
			continue
		}
		return ft
	}
	return nil
}

// answer delays or fails the call as the fault says (outside the lock: a
// hang must not block other calls); a fault that only delays writes
// nothing.
func (ft *Fault) answer(w http.ResponseWriter, r *http.Request) {
	if ft.Delay > 0 {
		select {
		case <-r.Context().Done():
			return
		case <-time.After(ft.Delay):
		}
	}
	if ft.slowOnly() {
		return
	}
	if ft.Hang {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Minute):
		}
		return
	}
	st, code := ft.Status, ft.Code
	if st == 0 {
		st = http.StatusInternalServerError
	}
	if code == "" {
		code = "server_error"
	}
	writeError(w, errStatus(st, code, "injected fault"))
}

// slowOnly reports whether the fault only delays the call, which then
// goes through.
func (ft *Fault) slowOnly() bool {
	return ft.Delay > 0 && !ft.Hang && ft.Status == 0 && ft.Code == ""
}

func (f *Fake) rateLimited() bool {
	if f.RateLimit <= 0 {
		return false
	}
	now := time.Now()
	if now.Sub(f.rateStart) > f.RateWindow {
		f.rateStart, f.rateCount = now, 0
	}
	f.rateCount++
	return f.rateCount > f.RateLimit
}
