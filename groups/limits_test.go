package groups_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lifeboat-social/lifeboat/groups"
)

// A control character is reported where it is, not at 1:1.
func TestControlCharacterPosition(t *testing.T) {
	for _, c := range []struct {
		text      string
		line, col int
		code      string
	}{
		{"version: 1\nname: river\x00birders\n", 2, 12, "U+0000"},
		{"version: 1\ntitle: \"Ri\x1b]0;x\x07\"\n", 2, 11, "U+001B"},
		{"version: 1\ntitle: Brück\u0085e\u009b\n", 2, 15, "U+009B"},
		{"version: 1\r\ntitle: x\x7f\r\n", 2, 9, "U+007F"},
	} {
		_, probs := groups.Parse("g.yaml", []byte(c.text))
		if len(probs) != 1 || probs[0].Line != c.line || probs[0].Col != c.col || !strings.Contains(probs[0].Msg, c.code) {
			t.Errorf("%q: %v, want one problem at %d:%d naming %s", c.text, probs, c.line, c.col, c.code)
		}
	}
}

// Files over the cap are refused before the YAML library reads them, by
// Parse and by Load (which does not read past the cap).
func TestSizeCap(t *testing.T) {
	big := append([]byte("version: 1\ntitle: "), bytes.Repeat([]byte("a"), groups.MaxFileSize)...)
	_, probs := groups.Parse("g.yaml", big)
	if len(probs) != 1 || !strings.Contains(probs[0].Msg, "limited to 1 MiB") {
		t.Fatalf("parse: %v", probs)
	}
	path := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(path, big, 0o600); err != nil {
		t.Fatal(err)
	}
	_, probs = groups.Load(path)
	if len(probs) != 1 || probs[0].File != path || !strings.Contains(probs[0].Msg, "limited to 1 MiB") {
		t.Fatalf("load: %v", probs)
	}
	// Just under the cap is read (and judged on its content).
	ok := []byte("version: 1\n")
	ok = append(ok, bytes.Repeat([]byte("#"), groups.MaxFileSize-len(ok))...)
	if _, probs := groups.Parse("g.yaml", ok); len(probs) == 0 || strings.Contains(probs[0].Msg, "limited") {
		t.Fatalf("at the cap: %v", probs)
	}
}
