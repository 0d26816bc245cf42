package arrival

import "time"

// QuickRetries makes the pauses between retry rounds short for the tests
// in arrival_test, and returns a function that puts them back.
func QuickRetries() func() {
	pause := stuckPause
	stuckPause = 10 * time.Millisecond
	return func() { stuckPause = pause }
}
