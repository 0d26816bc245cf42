package follows

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// maxRatio bounds how much an entry may grow when inflated. Text
// compresses 5 to 20 times; deflate cannot exceed about 1030, and an
// entry past 200 is a zip bomb, not a follow list.
const maxRatio = 200

// archive is a zip opened under Limits: the entry count is capped, and
// every byte inflated from any entry counts against one budget.
type archive struct {
	file   string
	zr     *zip.Reader
	budget int64
	lim    Limits
}

func openArchive(file string, ra io.ReaderAt, size int64, lim Limits) (*archive, error) {
	zr, err := zip.NewReader(ra, size)
	if errors.Is(err, zip.ErrInsecurePath) {
		err = nil // checked below, whatever GODEBUG says
	}
	if err != nil {
		return nil, errorf(file, "", "not a readable zip (%v): the download is cut short or damaged; download it again", err)
	}
	if len(zr.File) > lim.MaxEntries {
		return nil, tooLarge(file, "", "the zip holds %d entries, more than the cap of %d", len(zr.File), lim.MaxEntries)
	}
	seen := make(map[string]bool, len(zr.File))
	for _, f := range zr.File {
		if !fs.ValidPath(strings.TrimSuffix(f.Name, "/")) || strings.Contains(f.Name, `\`) {
			// Nothing is extracted, but an export never holds such a
			// name: the archive was made by something else.
			return nil, errorf(file, "entry "+quote(f.Name), "the zip names an entry outside itself (an absolute path or ..); not an export")
		}
		if seen[f.Name] {
			// Two entries of one name: which one a reader takes is up to
			// the reader, so the archive has no single meaning.
			return nil, errorf(file, "entry "+quote(f.Name), "appears twice in the zip")
		}
		seen[f.Name] = true
	}
	return &archive{file: file, zr: zr, budget: lim.MaxBytes, lim: lim}, nil
}

// open inflates one entry; reading past the budget or maxRatio fails.
func (a *archive) open(f *zip.File) (io.ReadCloser, error) {
	where := "entry " + quote(f.Name)
	if f.UncompressedSize64 > uint64(a.budget) {
		return nil, tooLarge(a.file, where, "inflates to %d bytes, over the cap of %d", f.UncompressedSize64, a.lim.MaxBytes)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, errorf(a.file, where, "cannot be read: %v", err)
	}
	return &entry{rc: rc, a: a, f: f}, nil
}

type entry struct {
	rc   io.ReadCloser
	a    *archive
	f    *zip.File
	read int64
}

// errBomb is an entry inflating past maxRatio.
var errBomb = errors.New("zip bomb")

func (e *entry) Read(p []byte) (int, error) {
	if e.a.budget <= 0 {
		return 0, errCapped
	}
	if int64(len(p)) > e.a.budget {
		p = p[:e.a.budget]
	}
	n, err := e.rc.Read(p)
	e.a.budget -= int64(n)
	e.read += int64(n)
	if e.read > 64<<10 && uint64(e.read) > maxRatio*e.f.CompressedSize64 {
		return n, errBomb
	}
	return n, err
}

func (e *entry) Close() error { return e.rc.Close() }

// entryWhere names an entry and, if n > 0, a record in it.
func entryWhere(name string, n int) string {
	if n == 0 {
		return "entry " + quote(name)
	}
	return fmt.Sprintf("entry %s, record %d", quote(name), n)
}
