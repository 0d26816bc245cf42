package safetext

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestLine(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"plain", "River Birders", "River Birders"},
		{"accents and emoji", "Chloé 🐦 Wren 👩‍👩‍👧", "Chloé 🐦 Wren 👩‍👩‍👧"},
		{"right-to-left text", "מקלט", "מקלט"},
		{"clear screen", "\x1b[2J\x1b[HAccepted", `\x1b[2J\x1b[HAccepted`},
		{"OSC window title, BEL", "\x1b]0;root@server\x07hi", `\x1b]0;root@server\x07hi`},
		{"OSC, string terminator", "\x1b]8;;http://evil\x1b\\link", `\x1b]8;;http://evil\x1b\link`},
		{"C1 CSI", "\u009b31mred", `\u009b31mred`},
		{"carriage return overwrite", "bad\rgood", `bad\x0dgood`},
		{"newline", "a\nb", `a\x0ab`},
		{"tab", "a\tb", `a\x09b`},
		{"NUL and DEL", "a\x00b\x7f", `a\x00b\x7f`},
		{"bidi override", "40ca-\u202e36ff", `40ca-\u202e36ff`},
		{"bidi isolates", "\u2066a\u2067b\u2068c\u2069", `\u2066a\u2067b\u2068c\u2069`},
		{"bidi embeddings and pop", "\u202a\u202b\u202c\u202d", `\u202a\u202b\u202c\u202d`},
		{"direction marks", "a\u200eb\u200fc\u061c", `a\u200eb\u200fc\u061c`},
		{"zero width space and BOM", "a\u200bb\ufeff", `a\u200bb\ufeff`},
		{"line separator", "a\u2028b\u2029", `a\u2028b\u2029`},
		{"invisible tag characters", "ok\U000E0041\U000E0042", `ok\U000e0041\U000e0042`},
		{"invalid UTF-8", "a\xffb\xc3", "a\ufffdb\ufffd"},
		{"a real U+FFFD stays", "a\ufffdb", "a\ufffdb"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Line(c.in); got != c.want {
				t.Errorf("Line(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestBlock(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"lines and tabs stay", "1. Be kind\n2.\tNo spam\n", "1. Be kind\n2.\tNo spam\n"},
		{"CRLF becomes LF", "one\r\ntwo\r\n", "one\ntwo\n"},
		{"lone CR is shown", "one\rtwo", `one\x0dtwo`},
		{"escape in a rule", "Be nice\x1b[1A\x1b[2KAccepted", `Be nice\x1b[1A\x1b[2KAccepted`},
		{"bidi in a message", "ok\u202edone", `ok\u202edone`},
		{"vertical tab and form feed", "a\vb\fc", `a\x0bb\x0cc`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Block(c.in); got != c.want {
				t.Errorf("Block(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

// TestSafeNeedsNoCopy: text without anything to escape comes back as it
// is, so rendering clean text costs no allocation.
func TestSafeNeedsNoCopy(t *testing.T) {
	s := "Ada Heron <ada@example.org> — 12 members"
	if n := testing.AllocsPerRun(100, func() { _ = Line(s) }); n != 0 {
		t.Errorf("Line allocated %v times for clean text", n)
	}
}

// harmless is the property both functions promise: valid UTF-8 with no
// character a terminal acts on or that hides or reorders text.
func harmless(t *testing.T, fn, in, out string, block bool) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("%s(%q) = %q: not UTF-8", fn, in, out)
	}
	for _, r := range out {
		if block && (r == '\n' || r == '\t') {
			continue
		}
		if r < 0x20 || (r >= 0x7f && r < 0xa0) || unicode.In(r, unicode.Cc, unicode.Zl, unicode.Zp) ||
			(unicode.Is(unicode.Cf, r) && r != '\u200c' && r != '\u200d') ||
			(r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f {
			t.Fatalf("%s(%q) = %q: holds %U", fn, in, out, r)
		}
	}
}

func FuzzSanitise(f *testing.F) {
	for _, s := range []string{"", "plain", "\x1b[2J", "\x1b]0;t\x07", "\u009b", "a\r\nb\rc", "\u202e\u2066",
		"\xff\xfe", "\U000E0041", "👩‍👩‍👧", "x\u2028y", "\\x1b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		line, block := Line(s), Block(s)
		harmless(t, "Line", s, line, false)
		harmless(t, "Block", s, block, true)
		if strings.ContainsAny(line, "\n\t") {
			t.Fatalf("Line(%q) = %q: holds a newline or tab", s, line)
		}
		// Cleaning is done once: clean text passes unchanged.
		if Line(line) != line || Block(block) != block {
			t.Fatalf("cleaning %q twice changed it", s)
		}
	})
}
