package hetzner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/hashicorp/terraform-exec/tfexec"

	"github.com/lifeboat-social/lifeboat/internal/progress"
)

// A Terraform run can outlive the lifeboat that started it: killed, its
// Terraform goes on where the system does not take children along (tfexec
// asks Linux to; macOS has no such thing), to the end of its apply, and
// holds the state's lock until then. A lifeboat started meanwhile waits
// for it, saying so, instead of failing at once on the lock, and reads
// the state only once that run has written it (adopt would otherwise
// import what the earlier run is about to record).

// lockWait is how long a run waits for an earlier run's lock: an apply
// of the module takes a few minutes at most.
const lockWait = 5 * time.Minute

// lockTimeout lets every Terraform command that takes the state's lock
// wait for it as long, should another run take it after awaitLock.
func lockTimeout() *tfexec.LockTimeoutOption { return tfexec.LockTimeout(lockWait.String()) }

// stateLockHolder is the process that holds Terraform's lock on the
// state file in dir (the local backend's lock is a POSIX record lock on
// it), 0 when none does.
func stateLockHolder(dir string) (int, error) {
	f, err := os.Open(filepath.Join(dir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read the state's lock: %w", err)
	}
	defer f.Close()
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: io.SeekStart}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_GETLK, &lk); err != nil {
		return 0, fmt.Errorf("read the state's lock: %w", err)
	}
	if lk.Type == syscall.F_UNLCK {
		return 0, nil
	}
	return int(lk.Pid), nil
}

// awaitLock returns once no earlier Terraform run holds the state's lock
// in dir, telling the user through emit while it waits; after lockWait it
// gives up, naming the process.
func awaitLock(ctx context.Context, dir string, emit progress.Func) error {
	pid, err := stateLockHolder(dir)
	if err != nil || pid == 0 {
		return err
	}
	const step = "lock"
	emit.Emit(progress.Event{Kind: progress.StepStarted, Step: step, Message: fmt.Sprintf(
		"waiting for an earlier Terraform run (process %d) to finish and release the state (at most %s)", pid, lockWait)})
	ctx, cancel := context.WithTimeout(ctx, lockWait)
	defer cancel()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			err := fmt.Errorf("an earlier Terraform run (process %d) still holds the state in %s after %s: let it finish, then run this again", pid, dir, lockWait)
			if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				err = ctx.Err()
			}
			emit.Emit(progress.Event{Kind: progress.Failed, Step: step, Message: err.Error(), Err: err})
			return err
		case <-tick.C:
		}
		if pid, err = stateLockHolder(dir); err != nil {
			return err
		}
		if pid == 0 {
			emit.Emit(progress.Event{Kind: progress.StepDone, Step: step, Message: "the earlier Terraform run has finished"})
			return nil
		}
	}
}
