package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/lifeboat-social/lifeboat/internal/atomicfile"
	"github.com/lifeboat-social/lifeboat/internal/capped"
)

// Some secrets live in files beside the store rather than in it: a local
// server's admin token and password (server.json), a new server's admin
// credentials and token (admin.json, admin-token.json). They are sealed
// with the same key ring, so a copy of the state directory holds no
// usable secret in them either. A sealed file holds one sealed value
// whose associated data is the file's name: a sealed admin.json renamed
// to server.json does not open, while a state directory moved as a whole
// still does.

// MaxSealedFile caps what ReadSealedFile reads: these files hold a few
// hundred bytes.
const MaxSealedFile = 1 << 20

// fileAD binds a sealed file to its name.
func fileAD(path string) string { return "file:" + filepath.Base(path) }

// WriteSealedFile replaces path (atomically, mode 0600) with plain sealed
// by the ring's first key.
func WriteSealedFile(k *Keyring, path string, plain []byte) error {
	return atomicfile.Write(path, []byte(k.Seal(plain, fileAD(path))+"\n"), 0o600)
}

// ReadSealedFile opens a file WriteSealedFile wrote. A file still in
// clear (written by a Lifeboat that did not seal it) is returned as it is
// and sealed in place first, so the clear secret does not outlive the
// first read. Errors wrap fs.ErrNotExist when the file is missing and
// ErrKey when no key in the ring opens it.
func ReadSealedFile(k *Keyring, path string) ([]byte, error) {
	b, err := readCapped(path)
	if err != nil {
		return nil, err
	}
	text := string(bytes.TrimSpace(b))
	if !sealed(text) {
		if err := WriteSealedFile(k, path, b); err != nil {
			return nil, fmt.Errorf("seal %s: %w", path, err)
		}
		return b, nil
	}
	plain, err := k.Open(text, fileAD(path))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return plain, nil
}

// readCapped reads path, refusing one larger than MaxSealedFile.
func readCapped(path string) ([]byte, error) {
	b, err := capped.ReadFile(path, MaxSealedFile)
	if tl := (*capped.TooLargeError)(nil); errors.As(err, &tl) {
		return nil, fmt.Errorf("%w: it is not a file Lifeboat sealed", err)
	}
	return b, err
}

// ResealFiles seals every sealed file below root again with the ring's
// first key (for a rotation) and returns how many it sealed. A file is
// known as sealed by its content, so files added later are covered
// without a list. Clear files are left to their owners, which seal them
// on their next read.
func ResealFiles(k *Keyring, root string) (int, error) {
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while walking (a temporary file)
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if ok, err := startsSealed(path); err != nil || !ok {
			return err
		}
		plain, err := ReadSealedFile(k, path)
		if err != nil {
			return err
		}
		if err := WriteSealedFile(k, path, plain); err != nil {
			return err
		}
		n++
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("seal files in %s: %w", root, err)
	}
	return n, nil
}

// startsSealed reports whether the file at path begins as a sealed value
// does, reading only that much.
func startsSealed(path string) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		return false, nil // gone, or someone else's (a server's own files)
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	head := make([]byte, len(sealedPrefix))
	if _, err := io.ReadFull(f, head); err != nil {
		return false, nil // shorter than the prefix
	}
	return string(head) == sealedPrefix, nil
}
