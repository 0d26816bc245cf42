// Package backup keeps copies of a GoToSocial server's data away from the
// server, and brings them back. A backup is the SQLite database, copied
// consistently while GoToSocial runs (VACUUM INTO, one read transaction),
// and the media, streamed as one tar over the SSH access up uses into
// restic on the lead's machine, which encrypts and deduplicates it into a
// local directory or an S3-compatible bucket. Nothing secret reaches the
// server. A restore streams a backup into a server made by up (the same
// one, or a new one once the old is gone), swaps it in and restarts
// GoToSocial. Both journal their steps in the store, so a run that was
// killed resumes without redoing what it had done.
package backup

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// Shell runs a command on the server with its standard streams
// connected: over SSH with the pinned host key (hetzner.SSHTarget), or on
// this machine in tests. Transfers are too large to buffer.
type Shell interface {
	Stream(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) error
}

// Service stops and starts GoToSocial around a restore's swap. Start
// returns once the server answers again.
type Service interface {
	Stop(ctx context.Context) error
	Start(ctx context.Context, emit progress.Func) error
}

// Layout is where a GoToSocial server keeps its data.
type Layout struct {
	DB      string // the SQLite database
	Storage string // the local media storage
	Owner   string // user:group the data belong to; empty keeps the owner
	Work    string // the server's working directory for backups (root's, 0700)
}

// safePath is what a layout's paths may hold: they are put in commands.
var (
	safePath  = regexp.MustCompile(`^/[A-Za-z0-9/._-]+$`)
	safeOwner = regexp.MustCompile(`^([a-z_][a-z0-9_-]*(:[a-z_][a-z0-9_-]*)?)?$`)
)

func (l Layout) check() error {
	for _, p := range []string{l.DB, l.Storage, l.Work} {
		if !safePath.MatchString(p) || strings.Contains(p, "..") {
			return fmt.Errorf("backup layout: %q is not an absolute path of letters, digits and ./_-", p)
		}
	}
	if !safeOwner.MatchString(l.Owner) {
		return fmt.Errorf("backup layout: %q is not user:group", l.Owner)
	}
	return nil
}

// Server is one group's GoToSocial server.
type Server struct {
	ID      string // the server's identity (its cloud id): restores are journaled per server
	Group   string
	Domain  string // the instance's host: a backup is restored only onto the same one
	Shell   Shell
	Layout  Layout
	Service Service
}

// Snapshot is one backup in the repository.
type Snapshot struct {
	ID     string    `json:"id"`
	Short  string    `json:"short_id"`
	Time   time.Time `json:"time"`
	Group  string    `json:"group"`
	Domain string    `json:"domain"`
	Bytes  int64     `json:"bytes"` // the archive's size
}

// Errors callers branch on. ErrInput marks everything the lead must fix
// (bad input: exit 2); the others say which.
var (
	ErrInput         = errors.New("backup")
	ErrLocation      = errors.New("not a repository location")
	ErrNoCredentials = errors.New("no credentials for the bucket")
	ErrNoPassword    = errors.New("no password for the repository")
	ErrWrongPassword = errors.New("the password does not open the repository")
	ErrNoSnapshot    = errors.New("no such backup")
	ErrOtherDomain   = errors.New("the backup is of another server")
	ErrRestored      = errors.New("already restored")
	ErrBusy          = errors.New("a backup or restore is already running on the server")
)

// inputErr marks err (one of the sentinels above) as bad input.
func inputErr(kind error, format string, a ...any) error {
	return fmt.Errorf("%w: %w: %s", ErrInput, kind, fmt.Sprintf(format, a...))
}

//go:embed scripts/*.sh
var scripts embed.FS

// script is the command that runs one of the embedded scripts with args,
// under bash whatever the login shell.
func script(name string, args ...string) string {
	body, err := scripts.ReadFile("scripts/" + name + ".sh")
	if err != nil {
		panic(err) // embedded: cannot happen
	}
	cmd := "exec bash -c " + quote(string(body)) + " lifeboat-" + name
	for _, a := range args {
		cmd += " " + quote(a)
	}
	return cmd
}

// quote makes s one word for a POSIX shell.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// Backups backs up and restores groups' servers with one repository.
type Backups struct {
	Restic  *Restic
	Journal store.Journal
	Emit    progress.Func
}

// Steps, as progress events name them.
const (
	StepSnapshot = "backup"
	StepDownload = "unpack"
	StepSwap     = "swap"
	StepStart    = "restart"
)

func backupRun(group string) string  { return "backup/" + group }
func restoreRun(group string) string { return "restore/" + group }

// Backup takes a backup of s's data into the repository (made on first
// use) and returns it. An earlier backup that was killed is noted as
// such and its leftovers cleared; a backup is never half-saved: restic
// saves the snapshot only when the server's stream ended well.
func (b *Backups) Backup(ctx context.Context, s Server) (Snapshot, error) {
	if err := s.Layout.check(); err != nil {
		return Snapshot{}, err
	}
	run := backupRun(s.Group)
	if err := b.reconcile(ctx, run); err != nil {
		return Snapshot{}, err
	}
	if err := b.Restic.ensure(ctx); err != nil {
		return Snapshot{}, err
	}
	key := time.Now().UTC().Format(time.RFC3339Nano)
	if _, err := b.Journal.Start(ctx, run, key); err != nil && !errors.Is(err, store.ErrNotFound) {
		return Snapshot{}, err
	}
	snap, err := b.stream(ctx, s)
	if err != nil {
		b.Journal.Fail(ctx, run, key, err.Error())
		b.Emit.Emit(progress.Event{Kind: progress.Failed, Step: StepSnapshot, Message: err.Error(), Err: err})
		return Snapshot{}, err
	}
	if err := b.Journal.Finish(ctx, run, key, []byte(fmt.Sprintf("%q", snap.ID))); err != nil {
		return snap, err
	}
	b.Emit.Emit(progress.Event{Kind: progress.StepDone, Step: StepSnapshot, Message: "backup " + snap.Short + " saved"})
	return snap, nil
}

// reconcile finds backups a killed run left started: restic's stale
// locks go (the server's leftovers go at the next run there), and they
// are noted as interrupted.
func (b *Backups) reconcile(ctx context.Context, run string) error {
	steps, err := b.Journal.List(ctx, run, "")
	if err != nil {
		return err
	}
	for _, st := range steps {
		if st.Status != store.StepStarted {
			continue
		}
		b.Emit.Emit(progress.Event{Kind: progress.Log, Step: StepSnapshot, Message: "the backup begun at " + st.Key + " was interrupted; starting a new one"})
		if err := b.Restic.unlock(ctx); err != nil {
			return err
		}
		if err := b.Journal.Fail(ctx, run, st.Key, "interrupted"); err != nil {
			return err
		}
	}
	return nil
}

// stream runs the server's side of a backup into restic: the server's
// tar on restic's standard input, closed only when the server finished
// well; otherwise restic is killed before it can save anything.
func (b *Backups) stream(ctx context.Context, s Server) (Snapshot, error) {
	b.Emit.Emit(progress.Event{Kind: progress.StepStarted, Step: StepSnapshot,
		Message: "copying the database and media of " + s.Domain + " into the backup"})
	up, err := b.Restic.startBackup(ctx, []string{tagLifeboat, tagGroup + s.Group, tagDomain + s.Domain}, "lifeboat-"+s.Group)
	if err != nil {
		return Snapshot{}, err
	}
	meter := &meter{emit: b.Emit, step: StepSnapshot}
	errs := &serverErr{sizes: meter}
	l := s.Layout
	err = s.Shell.Stream(ctx, script("backup", l.DB, l.Storage, l.Work), nil, io.MultiWriter(up.stdin, meter), errs)
	if err != nil {
		up.kill()
		return Snapshot{}, errs.wrap("back up the server", err)
	}
	meter.finish()
	snap, err := up.finish()
	snap.Group, snap.Domain, snap.Time = s.Group, s.Domain, time.Now().UTC()
	return snap, err
}

// Restore brings the backup id (a full or short id; empty: the group's
// latest) back onto s: unpacked and checked beside the live data, then,
// with GoToSocial stopped, swapped in (what it replaces is kept on the
// server, see the swap script), then GoToSocial restarted. Each of the
// three steps is journaled; a killed run resumes at the step it was in.
// The same backup restored onto the same server again is ErrRestored
// unless again is set.
func (b *Backups) Restore(ctx context.Context, s Server, id string, again bool) (Snapshot, error) {
	if err := s.Layout.check(); err != nil {
		return Snapshot{}, err
	}
	snap, err := b.find(ctx, s.Group, id)
	if err != nil {
		return Snapshot{}, err
	}
	if snap.Domain != s.Domain {
		return snap, inputErr(ErrOtherDomain, "backup %s is of %s, and this server is %s: GoToSocial's database is bound to its domain", snap.Short, snap.Domain, s.Domain)
	}
	run, key := restoreRun(s.Group), snap.ID+"@"+s.ID
	done := func(step string) (store.Step, bool, error) {
		st, err := b.Journal.Get(ctx, run, key+"/"+step)
		if errors.Is(err, store.ErrNotFound) {
			return st, false, nil
		}
		return st, err == nil && st.Status == store.StepDone, err
	}
	if _, ok, err := done(StepStart); err != nil {
		return snap, err
	} else if ok && !again {
		return snap, inputErr(ErrRestored, "backup %s was restored onto this server already; pass --again to replace the server's data with it once more", snap.Short)
	} else if ok {
		for _, step := range []string{StepDownload, StepSwap, StepStart} {
			if err := b.Journal.Fail(ctx, run, key+"/"+step, "restored again"); err != nil {
				return snap, err
			}
		}
	}
	l := s.Layout
	stage, ok, err := done(StepDownload)
	if err != nil {
		return snap, err
	}
	// Where it unpacks, named afresh for each unpacking: a restore done
	// before keeps what it replaced.
	dir := string(stage.Result)
	if !ok {
		dir = l.Storage + "/.lifeboat-restore-" + snap.Short + "-" + time.Now().UTC().Format("20060102T150405")
		err := b.step(ctx, run, key, StepDownload, []byte(dir), func() error { return b.unpack(ctx, s, snap, dir) })
		if err != nil {
			return snap, err
		}
	}
	if _, ok, err := done(StepSwap); err != nil {
		return snap, err
	} else if !ok {
		err := b.step(ctx, run, key, StepSwap, nil, func() error {
			b.Emit.Emit(progress.Event{Kind: progress.StepStarted, Step: StepSwap, Message: "stopping GoToSocial and putting the backup in place of its data"})
			if err := s.Service.Stop(ctx); err != nil {
				return fmt.Errorf("stop GoToSocial: %w", err)
			}
			errs := &serverErr{}
			if err := s.Shell.Stream(ctx, script("swap", l.DB, l.Storage, l.Work, dir, l.Owner), nil, io.Discard, errs); err != nil {
				return errs.wrap("swap the backup in", err)
			}
			b.Emit.Emit(progress.Event{Kind: progress.StepDone, Step: StepSwap, Message: "the data it replaced are kept on the server in " + dir + "/replaced"})
			return nil
		})
		if err != nil {
			return snap, err
		}
	}
	err = b.step(ctx, run, key, StepStart, nil, func() error {
		b.Emit.Emit(progress.Event{Kind: progress.StepStarted, Step: StepStart, Message: "starting GoToSocial on the restored data"})
		if err := s.Service.Start(ctx, b.Emit); err != nil {
			return fmt.Errorf("start GoToSocial: %w", err)
		}
		b.Emit.Emit(progress.Event{Kind: progress.StepDone, Step: StepStart})
		return nil
	})
	return snap, err
}

// step runs one journaled step of a restore, recording result when done
// (the unpack step's: where it unpacked).
func (b *Backups) step(ctx context.Context, run, key, name string, result []byte, do func() error) error {
	if _, err := b.Journal.Start(ctx, run, key+"/"+name); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := do(); err != nil {
		b.Journal.Fail(ctx, run, key+"/"+name, err.Error())
		b.Emit.Emit(progress.Event{Kind: progress.Failed, Step: name, Message: err.Error(), Err: err})
		return err
	}
	return b.Journal.Finish(ctx, run, key+"/"+name, result)
}

// unpack streams the backup from restic into the server's stage script.
// A stream that ends early (restic failed, or fewer bytes than the backup
// holds) fails, whatever tar made of it.
func (b *Backups) unpack(ctx context.Context, s Server, snap Snapshot, dir string) error {
	b.Emit.Emit(progress.Event{Kind: progress.StepStarted, Step: StepDownload,
		Message: fmt.Sprintf("unpacking backup %s of %s on the server (%s)", snap.Short, snap.Time.Format(time.RFC3339), mb(snap.Bytes))})
	dump, err := b.Restic.startDump(ctx, snap.ID)
	if err != nil {
		return err
	}
	meter := &meter{emit: b.Emit, step: StepDownload, total: snap.Bytes}
	in := &checkedReader{r: io.TeeReader(dump.stdout, meter), want: snap.Bytes, end: dump.wait}
	errs := &serverErr{}
	l := s.Layout
	err = s.Shell.Stream(ctx, script("stage", l.DB, l.Storage, l.Work, dir), in, io.Discard, errs)
	if err != nil {
		dump.kill()
		return errs.wrap("unpack the backup on the server", err)
	}
	if in.err != nil {
		return in.err
	}
	meter.finish()
	b.Emit.Emit(progress.Event{Kind: progress.StepDone, Step: StepDownload})
	return nil
}

// checkedReader turns a stream that ended early into an error: the end
// of restic's output is an EOF only when restic exited well having
// written every byte of the backup.
type checkedReader struct {
	r    io.Reader
	n    int64
	want int64
	end  func() error
	err  error
}

func (c *checkedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if errors.Is(err, io.EOF) {
		if werr := c.end(); werr != nil {
			c.err = werr
		} else if c.n != c.want {
			c.err = fmt.Errorf("restic dump gave %d bytes of the backup's %d", c.n, c.want)
		}
		if c.err != nil {
			return n, c.err
		}
	}
	return n, err
}

// meter reports bytes streamed as progress, in MB, at most every 1 %.
type meter struct {
	emit      progress.Func
	step      string
	total     int64 // expected bytes; 0 until known
	n, next   int64
	lastShown int
}

func (m *meter) Write(p []byte) (int, error) {
	m.n += int64(len(p))
	if m.total > 0 && m.n >= m.next {
		m.report()
		m.next = m.n + max(m.total/100, 1<<20)
	}
	return len(p), nil
}

func (m *meter) report() {
	done, total := int(m.n>>20), int(max(m.total, m.n)>>20)
	if done == m.lastShown && m.n < m.total {
		return
	}
	m.lastShown = done
	m.emit.Emit(progress.Event{Kind: progress.Advanced, Step: m.step, Done: done, Total: max(total, 1), Message: "MB"})
}

// finish reports the whole stream once it has ended.
func (m *meter) finish() {
	m.total = m.n
	m.lastShown = -1
	m.report()
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/(1<<20)) }

// serverErr collects what the server's script says on stderr (bounded),
// picks out the size line of a backup, and turns the script's own
// markers into typed errors.
type serverErr struct {
	sizes *meter
	buf   []byte
	said  strings.Builder
}

const maxStderr = 64 << 10

func (e *serverErr) Write(p []byte) (int, error) {
	e.buf = append(e.buf, p...)
	for {
		i := strings.IndexByte(string(e.buf), '\n')
		if i < 0 {
			break
		}
		line := string(e.buf[:i])
		e.buf = e.buf[i+1:]
		var n int64
		if _, err := fmt.Sscanf(line, "lifeboat-size %d", &n); err == nil && e.sizes != nil {
			e.sizes.total = n
			continue
		}
		if e.said.Len() < maxStderr {
			e.said.WriteString(line + "\n")
		}
	}
	if len(e.buf) > maxStderr {
		e.buf = e.buf[:0]
	}
	return len(p), nil
}

func (e *serverErr) wrap(what string, err error) error {
	said := strings.TrimSpace(e.said.String() + string(e.buf))
	if strings.Contains(said, "lifeboat-busy:") {
		return fmt.Errorf("%s: %w", what, ErrBusy)
	}
	if said != "" {
		return fmt.Errorf("%s: %w\n%s", what, err, said)
	}
	return fmt.Errorf("%s: %w", what, err)
}
