// Package safetext renders text from outside harmless for a terminal.
//
// Anything a file, an admission request, a scouted server or a member
// wrote may hold bytes a terminal obeys instead of showing: ESC starts
// CSI and OSC sequences that clear the screen, move the cursor or set the
// window title; C1 controls do the same in one byte; a carriage return
// overwrites the line; bidi overrides and isolates reorder what follows,
// so "40ca-36ff" can be shown for other bytes. Lifeboat passes every such
// string through Line or Block, one function for the CLI and the TUI,
// right before it is printed or rendered.
//
// Nothing is removed silently: each such character becomes a visible
// escape (\x1b, \u202e), so an admin sees that a request holds one.
package safetext

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Line returns s fit for one line of a terminal: every control and
// invisible formatting character, newlines included, is shown as an
// escape, and bytes that are not UTF-8 become U+FFFD.
func Line(s string) string { return clean(s, false) }

// Block returns s fit for several lines: like Line, but newlines and tabs
// stay (CRLF becomes a newline; a lone CR, which would overwrite the
// line, is shown as \r).
func Block(s string) string { return clean(s, true) }

func clean(s string, block bool) string {
	if safe(s, block) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteRune(utf8.RuneError)
		case block && r == '\r' && strings.HasPrefix(s[i+1:], "\n"):
			// CRLF: the newline that follows is written next
		case block && (r == '\n' || r == '\t'):
			b.WriteRune(r)
		case hostile(r):
			b.WriteString(escape(r))
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// safe reports whether s needs no change: the common case costs one scan
// and no allocation.
func safe(s string, block bool) bool {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(s[i:]); n == 1 {
				return false
			}
		}
		if hostile(r) && !(block && (r == '\n' || r == '\t')) {
			return false
		}
	}
	return true
}

// hostile reports whether a terminal could act on r, or r could hide or
// reorder text: C0 and C1 controls and DEL (category Cc), line and
// paragraph separators, and formatting characters (Cf: bidi embeddings,
// overrides, isolates and marks, zero-width spaces, invisible tags),
// except the zero-width joiner and non-joiner, which emoji and several
// scripts need and which move nothing.
func hostile(r rune) bool {
	switch {
	case r == '\u200c' || r == '\u200d':
		return false
	case r < 0x20 || r == 0x7f:
		return true
	case r < 0xa0:
		return r >= 0x80
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp)
}

// escape is r written the way Go would quote it: \x1b, \u202e, \U000e0041.
func escape(r rune) string {
	switch {
	case r < 0x80:
		return `\x` + hex(int64(r), 2)
	case r <= 0xffff:
		return `\u` + hex(int64(r), 4)
	}
	return `\U` + hex(int64(r), 8)
}

func hex(v int64, width int) string {
	h := strconv.FormatInt(v, 16)
	return strings.Repeat("0", width-len(h)) + h
}
