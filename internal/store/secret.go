package store

import (
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"
)

// The store's secrets (members' OAuth tokens, groups' signing keys) are
// sealed with XChaCha20-Poly1305 under a key kept outside the database,
// so a copied database file, dump or backup holds no usable secret. The
// key comes from $LIFEBOAT_SECRET_KEY or a 0600 key file in the user's
// config directory, made on first use; it must not live in the state
// directory, which is what gets copied.
//
// A key ring holds one or more keys: the first seals, any opens. That is
// what lets a rotation be interrupted anywhere without losing a secret:
// the new key is added in front, every secret re-sealed in one
// transaction, and only then the old key dropped.

// EnvSecretKey holds the key ring as base64 keys separated by commas, the
// sealing key first. It wins over the key file.
const EnvSecretKey = "LIFEBOAT_SECRET_KEY"

// EnvSecretKeyFile names another key file than the default.
const EnvSecretKeyFile = "LIFEBOAT_SECRET_KEY_FILE"

// KeyFileName is the key file's name in Lifeboat's config directory.
const KeyFileName = "secret.key"

// ErrKey is a problem with the secret key: missing, malformed, readable
// by others, in the state directory, or not the key the secrets were
// sealed with.
var ErrKey = errors.New("secret key")

// sealedPrefix starts every sealed value: a version, so that a clear
// value left by an older Lifeboat is told apart and sealed on open.
const sealedPrefix = "lbs1."

// Keyring is the keys secrets are sealed with. Source says where they
// came from, for messages ("$LIFEBOAT_SECRET_KEY" or the file's path).
type Keyring struct {
	Source string
	keys   []secretKey
}

type secretKey struct {
	id   string // first 8 hex digits of the key's SHA-256: names it, reveals nothing
	aead cipher.AEAD
}

// NewKey makes a random 32-byte key, base64-encoded as the key file and
// $LIFEBOAT_SECRET_KEY hold it.
func NewKey() string {
	b := make([]byte, chacha20poly1305.KeySize)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// ParseKeys reads a key ring: base64 keys (standard or URL alphabet,
// padded or not) separated by commas or newlines, the sealing key first;
// lines starting with # are comments.
func ParseKeys(text, source string) (*Keyring, error) {
	k := &Keyring{Source: source}
	for _, f := range strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		f = strings.TrimSpace(f)
		if f == "" || strings.HasPrefix(f, "#") {
			continue
		}
		raw, err := decodeKey(f)
		if err != nil {
			return nil, fmt.Errorf("%w in %s: key %d: %v", ErrKey, source, len(k.keys)+1, err)
		}
		aead, _ := chacha20poly1305.NewX(raw) // the length is checked
		sum := sha256.Sum256(raw)
		k.keys = append(k.keys, secretKey{id: hex.EncodeToString(sum[:4]), aead: aead})
	}
	if len(k.keys) == 0 {
		return nil, fmt.Errorf("%w: %s holds no key", ErrKey, source)
	}
	return k, nil
}

func decodeKey(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != chacha20poly1305.KeySize {
				return nil, fmt.Errorf("has %d bytes, want %d", len(b), chacha20poly1305.KeySize)
			}
			return b, nil
		}
	}
	return nil, errors.New("is not base64")
}

// ID names the sealing key (a hash prefix, safe to show).
func (k *Keyring) ID() string { return k.keys[0].id }

// keyFileText is the key file holding raw, the sealing key first.
func keyFileText(raw []string) string {
	return "# Lifeboat's secret key: it opens the tokens and signing keys in the\n" +
		"# store. Keep it out of backups of the state directory. The first key\n" +
		"# seals; the others only open (during a rotation).\n" + strings.Join(raw, "\n") + "\n"
}

// Seal encrypts v for the place named by ad (a column and row, or a
// file's name): a sealed value copied to another place does not open.
func (k *Keyring) Seal(v []byte, ad string) string {
	key := k.keys[0]
	nonce := make([]byte, key.aead.NonceSize(), key.aead.NonceSize()+len(v)+key.aead.Overhead())
	rand.Read(nonce)
	box := key.aead.Seal(nonce, nonce, v, []byte(ad))
	return sealedPrefix + key.id + "." + base64.RawURLEncoding.EncodeToString(box)
}

// Open decrypts a value Seal made for ad. A value that is not sealed is
// returned as it is: the store and ReadSealedFile seal such values, left
// by an older Lifeboat, at once.
func (k *Keyring) Open(s, ad string) ([]byte, error) {
	if !sealed(s) {
		return []byte(s), nil
	}
	id, b64, ok := strings.Cut(s[len(sealedPrefix):], ".")
	if !ok {
		return nil, fmt.Errorf("%w: a sealed value is malformed", ErrKey)
	}
	for _, key := range k.keys {
		if key.id != id {
			continue
		}
		box, err := base64.RawURLEncoding.DecodeString(b64)
		if err != nil || len(box) < key.aead.NonceSize() {
			return nil, fmt.Errorf("%w: a sealed value is malformed", ErrKey)
		}
		n := key.aead.NonceSize()
		v, err := key.aead.Open(nil, box[:n], box[n:], []byte(ad))
		if err != nil {
			return nil, fmt.Errorf("%w: a sealed value does not open (altered, or moved from another row)", ErrKey)
		}
		return v, nil
	}
	return nil, fmt.Errorf("%w: a secret is sealed with key %s, which %s does not hold", ErrKey, id, k.Source)
}

func sealed(s string) bool { return strings.HasPrefix(s, sealedPrefix) }

// KeyFile is where the key file lives: $LIFEBOAT_SECRET_KEY_FILE, else
// the user's config directory ($XDG_CONFIG_HOME/lifeboat/secret.key, or
// ~/.config/lifeboat/secret.key, on Linux).
func KeyFile() (string, error) {
	if f := os.Getenv(EnvSecretKeyFile); f != "" {
		return f, nil
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("%w: no config directory for the key file (set %s): %v", ErrKey, EnvSecretKey, err)
	}
	return filepath.Join(d, "lifeboat", KeyFileName), nil
}

// LoadKeys returns the key ring from $LIFEBOAT_SECRET_KEY, else from the
// key file, which is made (0600, a fresh key) when missing. stateDir is
// refused as the key file's home: a backup of the state must not carry
// the key that opens it.
func LoadKeys(stateDir string) (*Keyring, error) {
	if v := os.Getenv(EnvSecretKey); v != "" {
		return ParseKeys(v, "$"+EnvSecretKey)
	}
	file, err := KeyFile()
	if err != nil {
		return nil, err
	}
	return LoadKeyFile(file, stateDir)
}

// LoadKeyFile reads the key file, making it if it does not exist.
func LoadKeyFile(file, stateDir string) (*Keyring, error) {
	if stateDir != "" && within(file, stateDir) {
		return nil, fmt.Errorf("%w: the key file %s is inside the state directory %s, which backups copy: keep it elsewhere (or set %s)",
			ErrKey, file, stateDir, EnvSecretKey)
	}
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		if err := createKeyFile(file); err != nil {
			return nil, err
		}
		b, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	if fi, err := os.Stat(file); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s can be read by others (mode %o): run chmod 600 %s", ErrKey, file, fi.Mode().Perm(), file)
	}
	return ParseKeys(string(b), file)
}

// createKeyFile writes a new key file without ever replacing one: two
// processes starting at once must not each seal with a key of their own.
func createKeyFile(file string) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return fmt.Errorf("%w: %v", ErrKey, err)
	}
	tmp, err := writeTemp(file, keyFileText([]string{NewKey()}))
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, file); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: %v", ErrKey, err)
	}
	return nil
}

// writeKeyFile replaces the key file with the given base64 keys, the
// sealing key first (for a rotation).
func writeKeyFile(file string, keys []string) error {
	tmp, err := writeTemp(file, keyFileText(keys))
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, file); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("%w: %v", ErrKey, err)
	}
	return nil
}

// writeTemp writes text to a new 0600 file beside file, synced.
func writeTemp(file, text string) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(file), ".secret-*.tmp")
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrKey, err)
	}
	_, werr := f.WriteString(text)
	serr := f.Sync()
	if err := errors.Join(werr, serr, f.Chmod(0o600), f.Close()); err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("%w: %v", ErrKey, err)
	}
	return f.Name(), nil
}

// within reports whether path is dir or below it.
func within(path, dir string) bool {
	p, err1 := filepath.Abs(path)
	d, err2 := filepath.Abs(dir)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(d, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
