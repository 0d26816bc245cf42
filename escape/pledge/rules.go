package pledge

import (
	"errors"
	"fmt"
	"time"
)

// Group states as the store records them.
const (
	StateGathering = "gathering" // pledges open
	StateLaunched  = "launched"  // invites sent; pledges frozen
	StateArrived   = "arrived"
	StateFailed    = "failed" // the deadline passed without viable mass
)

// ErrClosed is returned for a pledge change after launch or failure.
var ErrClosed = errors.New("pledges are closed")

// CheckThreshold says whether k is a threshold a member of a group of
// members people may set: from 0 (unconditional) to everyone else.
func CheckThreshold(k, members int) error {
	if k < 0 {
		return fmt.Errorf("threshold %d: must be 0 or more", k)
	}
	if k > members-1 {
		return fmt.Errorf("threshold %d: the group has only %d other members", k, members-1)
	}
	return nil
}

// CanChange reports whether pledges may still be made, changed or
// withdrawn: only while the group is gathering and before its deadline.
func CanChange(state string, now time.Time, deadline *time.Time) error {
	if state != "" && state != StateGathering {
		return fmt.Errorf("group is %s: %w", state, ErrClosed)
	}
	if deadline != nil && !now.Before(*deadline) {
		return fmt.Errorf("deadline passed: %w", ErrClosed)
	}
	return nil
}

// Action is what the periodic check should do for a group.
type Action int

const (
	Wait   Action = iota // keep gathering
	Launch               // viable: send every going member an invite
	Fail                 // the deadline passed without viable mass: tell everyone
)

func (a Action) String() string {
	return [...]string{"wait", "launch", "fail"}[a]
}

// Decide is the launch rule: launch as soon as the cascade reaches viable
// mass, but not before launchAt when the group set one; fail once the
// deadline passes without viable mass. A group still viable past its
// deadline launches: it was held back (by launchAt, or by a destination
// that was not ready), not refused. Groups not gathering are left alone.
func Decide(state string, now time.Time, deadline, launchAt *time.Time, o Outlook) Action {
	if state != StateGathering {
		return Wait
	}
	pastDeadline := deadline != nil && !now.Before(*deadline)
	switch {
	case !o.Viable && pastDeadline:
		return Fail
	case launchAt != nil && now.Before(*launchAt):
		return Wait
	case o.Viable:
		return Launch
	}
	return Wait
}

// LateOpen reports whether a member may still pledge (and so get an
// invite at once) after the launch: while the invite window, the invites'
// time to live after the launch, is open.
func LateOpen(state string, launchedAt, now time.Time, window time.Duration) bool {
	return (state == StateLaunched || state == StateArrived) && !launchedAt.IsZero() && now.Before(launchedAt.Add(window))
}

// Slow reports whether the lead should be nudged: more than a third of the
// time from opening to the deadline has gone, and the share of viable mass
// pledged is under half the share of time gone (PledgeBank's "sign-ups are
// slow" mail). Without a deadline, it is slow when nothing moved for a
// week and the group is not viable.
func Slow(now, opened time.Time, deadline *time.Time, lastPledge time.Time, o Outlook) bool {
	if o.Viable || now.Before(opened) {
		return false
	}
	if deadline == nil {
		last := lastPledge
		if last.IsZero() {
			last = opened
		}
		return now.Sub(last) >= 7*24*time.Hour
	}
	total := deadline.Sub(opened)
	if total <= 0 {
		return false
	}
	timeShare := float64(now.Sub(opened)) / float64(total)
	if timeShare <= 1.0/3 || timeShare >= 1 {
		return false
	}
	pledgeShare := float64(o.Going) / float64(max(o.ViableMass, 1))
	return pledgeShare < timeShare/2
}
