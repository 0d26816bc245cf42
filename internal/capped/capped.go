// Package capped reads files of a bounded size. Every input Lifeboat
// reads has a cap, and a file over it is refused whole: reading only its
// first part would act on a truncated secret, key or group file.
package capped

import (
	"fmt"
	"io"
	"os"
)

// TooLargeError is a file over its cap. Callers say what kind of file
// it is and what to do; errors.As finds it under their wrapping.
type TooLargeError struct {
	Path  string
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s is larger than %s", e.Path, Size(e.Limit))
}

// Size writes n bytes the way the refusals do: whole KiB or MiB where
// it divides, else bytes.
func Size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}

// ReadFile reads path whole, or returns a *TooLargeError when it holds
// more than limit bytes. It reads at most limit+1 bytes either way, so
// a huge file (or a device that never ends) costs nothing.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(f, path, limit)
}

// Read is ReadFile for an open file; name is what a refusal calls it.
func Read(r io.Reader, name string, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, &TooLargeError{Path: name, Limit: limit}
	}
	return b, nil
}
