package groups

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/lifeboat-social/lifeboat/internal/capped"
	"gopkg.in/yaml.v3"
)

// yamlLineErrs are yaml.v3's own messages that carry a line.
var yamlLineErrs = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Load reads and parses the group file at path. A file that cannot be read
// is reported as one problem without a position.
func Load(path string) (*Group, Problems) {
	data, err := readCapped(path)
	if err != nil {
		msg := err.Error()
		var pe *fs.PathError
		if errors.As(err, &pe) {
			msg = pe.Err.Error()
		}
		if errors.Is(err, fs.ErrNotExist) {
			msg = fmt.Sprintf("no such file; create one with `lifeboat init %s`", path)
		}
		return nil, Problems{{File: path, Msg: msg}}
	}
	return Parse(path, data)
}

// MaxFileSize caps a group file: the largest real group is a few hundred
// members of a few lines each, and the YAML library holds many times a
// document's size while it reads it.
const MaxFileSize = 1 << 20

// ErrTooLarge is a group file over MaxFileSize.
var ErrTooLarge = fmt.Errorf("group files are limited to %d MiB; split the group or remove what it does not need", MaxFileSize>>20)

// readCapped reads path, refusing to read more than MaxFileSize.
func readCapped(path string) ([]byte, error) {
	data, err := capped.ReadFile(path, MaxFileSize)
	if tl := (*capped.TooLargeError)(nil); errors.As(err, &tl) {
		return nil, ErrTooLarge
	}
	return data, err
}

// Parse parses and checks a group file. filename is only used in problems.
// It reports every problem it finds, sorted by position; the Group is
// returned only when there are none. Destination.Software is filled in
// with its default for local and new destinations.
func Parse(filename string, data []byte) (*Group, Problems) {
	p := &parser{file: filename}
	if len(data) > MaxFileSize {
		p.addAt(1, 1, "%v", ErrTooLarge)
		return nil, p.probs
	}
	g := p.parse(data)
	p.probs.sort()
	if len(p.probs) > 0 {
		return nil, p.probs
	}
	return g, nil
}

type parser struct {
	file  string
	probs Problems
}

func (p *parser) addAt(line, col int, format string, args ...any) {
	if line < 1 {
		line, col = 1, 1
	}
	if col < 1 {
		col = 1
	}
	p.probs = append(p.probs, Problem{File: p.file, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) add(n *yaml.Node, format string, args ...any) {
	p.addAt(n.Line, n.Column, format, args...)
}

func (p *parser) parse(data []byte) *Group {
	if !utf8.Valid(data) && !bytes.HasPrefix(data, []byte{0xfe, 0xff}) && !bytes.HasPrefix(data, []byte{0xff, 0xfe}) {
		line, col := invalidUTF8At(data)
		p.addAt(line, col, "the file is not valid UTF-8 text; save it as UTF-8")
		return nil
	}
	if line, col, r, found := controlAt(data); found {
		p.addAt(line, col, "a control character (U+%04X) is not allowed in a group file; delete it", r)
		return nil
	}
	root, ok := p.decode(data)
	if !ok {
		return nil
	}
	if root == nil || len(root.Content) == 0 || root.Content[0].Tag == "!!null" {
		p.addAt(1, 1, "the file is empty; run `lifeboat init` to write a starter group file")
		return nil
	}
	doc := resolve(root.Content[0])
	if doc.Kind != yaml.MappingNode {
		p.add(doc, "a group file is a mapping of fields, starting with `version: 1`; found %s", describe(doc))
		return nil
	}
	return p.group(doc)
}

// decode reads the single YAML document in data, turning syntax errors
// (and, defensively, any panic inside the YAML library) into problems.
func (p *parser) decode(data []byte) (root *yaml.Node, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			p.addAt(1, 1, "cannot read the YAML: %v", r)
			root, ok = nil, false
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var first yaml.Node
	if err := dec.Decode(&first); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, true
		}
		p.yamlError(err)
		return nil, false
	}
	var second yaml.Node
	switch err := dec.Decode(&second); {
	case errors.Is(err, io.EOF):
	case err != nil:
		p.yamlError(err)
		return nil, false
	default:
		line := second.Line
		if len(second.Content) > 0 {
			line = second.Content[0].Line
		}
		p.addAt(line, 1, "a group file holds one YAML document; remove the `---` and everything after it")
		return nil, false
	}
	return &first, true
}

func (p *parser) yamlError(err error) {
	msg := err.Error()
	if m := yamlLineErrs.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		p.addAt(line, 1, "YAML syntax error: %s", m[2])
		return
	}
	p.addAt(1, 1, "YAML syntax error: %s", strings.TrimPrefix(msg, "yaml: "))
}

func invalidUTF8At(data []byte) (line, col int) {
	line, col, _, _ = firstAt(data, func(r rune, size int) bool { return r == utf8.RuneError && size <= 1 })
	return line, col
}

// controlAt finds the first character YAML does not allow in a document
// (C0 and C1 controls other than tab, newlines and NEL, and DEL), which
// the YAML library would report without a usable position.
func controlAt(data []byte) (line, col int, r rune, found bool) {
	return firstAt(data, func(r rune, _ int) bool {
		switch {
		case r == '\t' || r == '\n' || r == '\r' || r == 0x85:
			return false
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return true
		}
		return false
	})
}

// firstAt is the line and column (in characters, from 1) of the first
// character of data for which bad holds.
func firstAt(data []byte, bad func(r rune, size int) bool) (line, col int, r rune, found bool) {
	line, col = 1, 1
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		if bad(r, size) {
			return line, col, r, true
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		data = data[size:]
	}
	return line, col, 0, false
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

// describe names a node's kind for "found …" in messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

// mapping is a YAML mapping read into its fields, with its own position
// for problems about fields that are missing.
type mapping struct {
	node *yaml.Node
	what string // "the top level", "lead", "destination", "member 3"
	keys map[string]*yaml.Node
	vals map[string]*yaml.Node
}

func (m *mapping) has(key string) bool { _, ok := m.vals[key]; return ok }

// fields reads mapping n, reporting keys that are not text, repeated keys
// and unknown keys (with a suggestion when one is near).
func (p *parser) fields(n *yaml.Node, what string, known []string) *mapping {
	m := &mapping{node: n, what: what, keys: map[string]*yaml.Node{}, vals: map[string]*yaml.Node{}}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.add(k, "field names must be plain words; found %s", describe(k))
			continue
		}
		if k.Tag == "!!merge" {
			p.add(k, "merge keys (`<<`) are not supported; write the fields out")
			continue
		}
		name := k.Value
		if prev, dup := m.keys[name]; dup {
			p.add(k, "`%s` is already set on line %d; remove one of them", name, prev.Line)
			continue
		}
		if !slices.Contains(known, name) {
			p.add(k, "%s", unknownField(name, what, known))
			continue
		}
		m.keys[name] = k
		m.vals[name] = resolve(v)
	}
	return m
}

func unknownField(name, what string, known []string) string {
	where := ""
	if what != "the top level" {
		where = " in " + what
	}
	msg := fmt.Sprintf("unknown field `%s`%s", name, where)
	if s := suggest(name, known); s != "" {
		return msg + fmt.Sprintf("; did you mean `%s`?", s)
	}
	if what == "the top level" && slices.Contains(destFields, name) && name != "type" {
		return msg + "; move it under `destination:`"
	}
	return msg + "; the fields here are " + strings.Join(known, ", ")
}

// suggest returns the known name nearest to name (Levenshtein distance at
// most 2, ignoring case), or "".
func suggest(name string, known []string) string {
	best, bestD := "", 3
	lname := strings.ToLower(name)
	for _, k := range known {
		d := levenshtein(lname, k)
		if d < bestD && d < len(k) {
			best, bestD = k, d
		}
	}
	return best
}

func levenshtein(a, b string) int {
	ar, br := []rune(a), []rune(b)
	prev := make([]int, len(br)+1)
	cur := make([]int, len(br)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ar); i++ {
		cur[0] = i
		for j := 1; j <= len(br); j++ {
			cost := 1
			if ar[i-1] == br[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(br)]
}

// missing reports a required field that is absent, at the mapping that
// should hold it. hint is what to add, e.g. "`version: 1`".
func (p *parser) missing(m *mapping, key, hint, why string) {
	where := "under " + m.what
	if m.what == "the top level" {
		where = "at the top level"
	} else if strings.HasPrefix(m.what, "member ") {
		where = "to " + m.what
	}
	p.add(m.node, "missing `%s`; add %s %s%s", key, hint, where, why)
}

// textState says what text found.
type textState int

const (
	absent  textState = iota // no such field
	blank                    // null, "" or only spaces
	invalid                  // wrong type or bad characters; already reported
	present
)

// text reads the string field key of m. multiline allows newlines and
// tabs.
func (p *parser) text(m *mapping, key string, multiline bool) (string, textState) {
	v, ok := m.vals[key]
	if !ok {
		return "", absent
	}
	if v.Kind != yaml.ScalarNode {
		p.add(v, "`%s` must be text, not %s", key, describe(v))
		return "", invalid
	}
	if v.Tag == "!!null" || strings.TrimSpace(v.Value) == "" {
		return "", blank
	}
	if !utf8.ValidString(v.Value) {
		p.add(v, "`%s` is not valid UTF-8 text", key)
		return "", invalid
	}
	for _, r := range v.Value {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t')) {
			if multiline {
				p.add(v, "`%s` contains a control character; use plain text", key)
			} else {
				p.add(v, "`%s` must be one line of plain text", key)
			}
			return "", invalid
		}
	}
	value := v.Value
	if multiline {
		// Blank lines before the text say nothing, and YAML writers
		// (yaml.v3) drop a leading line break when they write the text
		// back: the file would not read as it was written.
		for {
			first, rest, found := strings.Cut(value, "\n")
			if !found || strings.TrimSpace(first) != "" {
				break
			}
			value = rest
		}
	}
	return value, present
}

// optText is text for an optional field; blank counts as absent.
func (p *parser) optText(m *mapping, key string, multiline bool) (string, bool) {
	s, st := p.text(m, key, multiline)
	return s, st == present
}

// requiredText is text for a field that must be present and not blank.
// where says where to add it when missing, e.g. "under destination".
func (p *parser) requiredText(m *mapping, key, hint string) (string, bool) {
	s, st := p.text(m, key, false)
	p.need(m, key, hint, st, "")
	return s, st == present
}

// need reports a required field that is absent or blank. why is added to
// the message for a missing field, e.g. " (needed for `type: new`)".
func (p *parser) need(m *mapping, key, hint string, st textState, why string) {
	switch st {
	case absent:
		p.missing(m, key, hint, why)
	case blank:
		p.add(m.vals[key], "`%s` is empty; set it, e.g. %s", key, hint)
	}
}

// integer reads a whole-number field.
func (p *parser) integer(m *mapping, key string) (int, bool) {
	v, present := m.vals[key]
	if !present {
		return 0, false
	}
	if v.Kind != yaml.ScalarNode || v.Tag != "!!int" {
		extra := ""
		if v.Kind == yaml.ScalarNode && v.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
			if _, err := strconv.Atoi(v.Value); err == nil {
				extra = "; remove the quotes"
			}
		}
		p.add(v, "`%s` must be a whole number, not %s%s", key, describe(v), extra)
		return 0, false
	}
	var i int
	if err := v.Decode(&i); err != nil {
		p.add(v, "`%s` must be a whole number, not %s", key, describe(v))
		return 0, false
	}
	return i, true
}
