package tui

import (
	"context"
	"errors"
	"io"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/lifeboat-social/lifeboat/escape"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/progress"
)

// NewArrivals returns a root model showing only the arrivals screen of g,
// as a job that is already running: what lifeboat demo shows. Feed it
// EventMsg and end it with DoneMsg; it quits on DoneMsg.
func NewArrivals(ctx context.Context, d Deps, g *groups.Group) Model {
	m := New(ctx, d, "")
	m.only, m.active, m.title = true, arrivalsScreen, g.Title
	m.job = jobLaunch
	loaded := groupLoadedMsg{group: g}
	m, _ = m.broadcast(loaded)
	return m
}

// Init starts the arrivals screen's refresh from the store.
func (m Model) initArrivals() tea.Cmd {
	_, cmd := m.scr[arrivalsScreen].Update(jobStartedMsg{jobLaunch})
	return cmd
}

// arrivalsModel wraps Model so that Init starts the job's view.
type arrivalsModel struct{ Model }

func (a arrivalsModel) Init() tea.Cmd { return a.initArrivals() }

func (a arrivalsModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	m, cmd := a.Model.Update(msg)
	return arrivalsModel{m.(Model)}, cmd
}

// RunArrivals runs job under the arrivals screen of g, inline in the
// terminal (the last frame stays on screen when it ends). The job's
// events reach the screen through Program.Send; q or ctrl+c cancels the
// job (q asks first).
func RunArrivals(ctx context.Context, d Deps, g *groups.Group, in io.Reader, out io.Writer,
	job func(ctx context.Context, emit progress.Func) (escape.Report, error)) (escape.Report, error) {
	ApplyNoColor()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m := NewArrivals(ctx, d, g)
	m.jobCancel = cancel
	opts := []tea.ProgramOption{tea.WithContext(ctx)}
	if in != nil {
		opts = append(opts, tea.WithInput(in))
	}
	if out != nil {
		opts = append(opts, tea.WithOutput(out))
	}
	p := tea.NewProgram(arrivalsModel{m}, opts...)
	type result struct {
		rep escape.Report
		err error
	}
	res := make(chan result, 1)
	go func() {
		rep, err := job(ctx, func(e progress.Event) { p.Send(EventMsg(e)) })
		res <- result{rep, err}
		p.Send(DoneMsg{Report: rep, Err: err})
	}()
	_, perr := p.Run()
	cancel() // the user quit early: stop the job
	r := <-res
	if r.err == nil && perr != nil && !errors.Is(perr, tea.ErrProgramKilled) {
		return r.rep, perr
	}
	return r.rep, r.err
}
