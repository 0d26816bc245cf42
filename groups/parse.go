package groups

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/mail"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Software a local or new destination can run.
const (
	SoftwareGoToSocial = "gotosocial"
	SoftwareMastodon   = "mastodon"
)

// CloudHetzner is the only cloud a new destination can be provisioned on.
const CloudHetzner = "hetzner"

var (
	slugRe       = regexp.MustCompile(`^[a-z0-9-]{3,40}$`)
	usernameRe   = regexp.MustCompile(`^[A-Za-z0-9_]{1,30}$`)
	hetznerIDRe  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	domainLabel  = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	yamlLineErrs = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
)

// Fields at each level of the file, in the order the docs list them.
var (
	topFields    = []string{"version", "name", "title", "description", "viable_mass", "deadline", "launch_at", "lead", "destination", "members"}
	leadFields   = []string{"name", "email"}
	destFields   = []string{"type", "server", "software", "domain", "cloud", "location", "server_type"}
	memberFields = []string{"name", "email", "handle", "username"}
)

// ValidName reports whether name is a valid group name: a slug of
// lower-case letters, digits and '-', 3 to 40 characters.
func ValidName(name string) bool { return slugRe.MatchString(name) }

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
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, ErrTooLarge
	}
	return data, nil
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
	return v.Value, present
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

func (p *parser) group(root *yaml.Node) *Group {
	g := &Group{}
	top := p.fields(root, "the top level", topFields)

	if !top.has("version") {
		p.missing(top, "version", "`version: 1`", "")
	} else if v, ok := p.integer(top, "version"); ok {
		if v != 1 {
			p.add(top.vals["version"], "unsupported version %d; this lifeboat reads `version: 1`", v)
		}
		g.Version = v
	}

	if s, ok := p.requiredText(top, "name", "`name: my-group`"); ok {
		if !slugRe.MatchString(s) {
			p.add(top.vals["name"], "name %q is not a slug: use lower-case letters, digits and '-', 3 to 40 characters", s)
		}
		g.Name = s
	}
	if s, ok := p.requiredText(top, "title", "`title: My group`"); ok {
		g.Title = s
	}
	if s, ok := p.optText(top, "description", true); ok {
		g.Description = s
	}

	if s, ok := p.optText(top, "deadline", false); ok {
		t, err := parseDeadline(s)
		if err != nil {
			p.add(top.vals["deadline"], "deadline %q is not a date: write it as YYYY-MM-DD (e.g. 2027-01-31) or an RFC 3339 time", s)
		} else {
			g.Deadline = &t
		}
	}

	if s, ok := p.optText(top, "launch_at", false); ok {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			p.add(top.vals["launch_at"], "launch_at %q is not a date and time with a zone: write it like 2027-03-01T18:00:00+01:00 (or ...Z for UTC)", s)
		} else {
			t = t.UTC()
			g.LaunchAt = &t
		}
	}

	if v, present := top.vals["lead"]; !present {
		p.missing(top, "lead", "`lead: {name: …, email: …}`", "")
	} else if v.Kind != yaml.MappingNode {
		p.add(v, "`lead` must be a mapping with `name` and `email`, not %s", describe(v))
	} else {
		lead := p.fields(v, "lead", leadFields)
		if s, ok := p.requiredText(lead, "name", "`name: …`"); ok {
			g.Lead.Name = s
		}
		if s, ok := p.requiredText(lead, "email", "`email: …`"); ok {
			if msg := checkEmail(s); msg != "" {
				p.add(lead.vals["email"], "%s", msg)
			}
			g.Lead.Email = s
		}
	}

	if v, present := top.vals["destination"]; !present {
		p.missing(top, "destination", "`destination: {type: local}`", "")
	} else if v.Kind != yaml.MappingNode {
		p.add(v, "`destination` must be a mapping starting with `type:`, not %s", describe(v))
	} else {
		g.Destination = p.destination(p.fields(v, "destination", destFields))
	}

	nMembers := 0
	if v, present := top.vals["members"]; !present {
		p.missing(top, "members", "`members:` with a list of people (name and email each)", "")
	} else if v.Kind != yaml.SequenceNode {
		p.add(v, "`members` must be a list of people, each starting with `- name:`; found %s", describe(v))
	} else if len(v.Content) == 0 {
		p.add(v, "`members` is empty; add the people you want to bring, each with a name and email")
	} else {
		nMembers = len(v.Content)
		g.Members = p.members(v)
	}

	if !top.has("viable_mass") {
		p.missing(top, "viable_mass", "`viable_mass: N` (pledges needed to launch, at least 2)", "")
	} else if vm, ok := p.integer(top, "viable_mass"); ok {
		node := top.vals["viable_mass"]
		switch {
		case vm < 2:
			p.add(node, "viable_mass is %d; it must be at least 2 (the number of pledges needed to launch)", vm)
		case nMembers > 0 && vm > nMembers:
			p.add(node, "viable_mass is %d but there are only %d members; lower it to at most %d or add members", vm, nMembers, nMembers)
		}
		g.ViableMass = vm
	}
	return g
}

// parseDeadline reads YYYY-MM-DD (meaning the end of that day, UTC) or an
// RFC 3339 time.
func parseDeadline(s string) (time.Time, error) {
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		return d.Add(24*time.Hour - time.Second).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// checkEmail returns why s is not a plain email address, or "".
func checkEmail(s string) string {
	bad := fmt.Sprintf("%q is not a plain email address like alice@example.org", s)
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return bad
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") ||
		strings.Contains(domain, "..") || strings.ContainsAny(domain, "[]") {
		return fmt.Sprintf("%q is not a plain email address: the part after @ must be a domain like example.org", s)
	}
	return ""
}

func (p *parser) destination(m *mapping) Destination {
	var d Destination
	typ, typeOK := p.requiredText(m, "type", "`type: local` (local, existing or new)")
	if typeOK {
		switch typ {
		case DestLocal, DestExisting, DestNew:
			d.Type = typ
		default:
			msg := fmt.Sprintf("unknown destination type %q; use local, existing or new", typ)
			if s := suggest(typ, []string{DestLocal, DestExisting, DestNew}); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			}
			p.add(m.vals["type"], "%s", msg)
		}
	}
	server, serverSt := p.text(m, "server", false)
	software, softwareSt := p.text(m, "software", false)
	domain, domainSt := p.text(m, "domain", false)
	cloud, cloudSt := p.text(m, "cloud", false)
	location, locationSt := p.text(m, "location", false)
	serverType, serverTypeSt := p.text(m, "server_type", false)
	if d.Type == "" {
		return d // the rules below depend on the type
	}

	notFor := func(key, onlyFor string) {
		if m.has(key) {
			p.add(m.keys[key], "`%s` is not used by %s destination; remove it (it is only for `type: %s`)", key, article(d.Type), onlyFor)
		}
	}
	need := func(key, hint string, st textState) bool {
		p.need(m, key, hint, st, fmt.Sprintf(" (needed for `type: %s`)", d.Type))
		return st == present
	}

	switch d.Type {
	case DestLocal, DestNew:
		notFor("server", DestExisting)
		d.Software = SoftwareGoToSocial
		if softwareSt == present {
			if software != SoftwareGoToSocial && software != SoftwareMastodon {
				p.add(m.vals["software"], "unknown software %q; use gotosocial (the default) or mastodon", software)
			}
			d.Software = software
		}
	case DestExisting:
		if m.has("software") {
			p.add(m.keys["software"], "`software` is not used by an existing destination; remove it (the server's software is found by scouting it)")
		}
		if need("server", "`server: https://…`", serverSt) {
			if msg := checkServer(server); msg != "" {
				p.add(m.vals["server"], "%s", msg)
			}
			d.Server = server
		}
	}

	switch d.Type {
	case DestLocal, DestExisting:
		for _, k := range []string{"domain", "cloud", "location", "server_type"} {
			notFor(k, DestNew)
		}
	case DestNew:
		if need("domain", "`domain: social.example.org`", domainSt) {
			if !validDomain(domain) {
				p.add(m.vals["domain"], "domain %q is not a domain name: use lower-case labels of letters, digits and '-', separated by dots (e.g. social.example.org)", domain)
			}
			d.Domain = domain
		}
		if need("cloud", "`cloud: hetzner`", cloudSt) {
			if cloud != CloudHetzner {
				p.add(m.vals["cloud"], "unknown cloud %q; the only cloud is hetzner", cloud)
			}
			d.Cloud = cloud
		}
		if need("location", "`location: fsn1` (a Hetzner location)", locationSt) {
			if !hetznerIDRe.MatchString(location) {
				p.add(m.vals["location"], "location %q is not a Hetzner location name like fsn1, nbg1 or hel1", location)
			}
			d.Location = location
		}
		if need("server_type", "`server_type: cx22` (a Hetzner server type)", serverTypeSt) {
			if !hetznerIDRe.MatchString(serverType) {
				p.add(m.vals["server_type"], "server_type %q is not a Hetzner server type name like cx22", serverType)
			}
			d.ServerType = serverType
		}
	}
	return d
}

// checkServer returns why s is not an acceptable existing-server address,
// or "": https, or http only for a loopback host; no credentials, path,
// query or fragment.
func checkServer(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return fmt.Sprintf("server %q is not a URL; write it like https://social.example", s)
	}
	if u.User != nil {
		return fmt.Sprintf("server %q must not contain a user name or password; write it like https://social.example", s)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return fmt.Sprintf("server %q must be the server's address only, without a path or query, like https://social.example", s)
	}
	switch u.Scheme {
	case "https":
		if u.Hostname() == "" {
			return fmt.Sprintf("server %q has no host; write it like https://social.example", s)
		}
		return ""
	case "http":
		if isLoopback(u.Hostname()) {
			return ""
		}
		return fmt.Sprintf("server %q must use https (http is allowed only for localhost and 127.0.0.1)", s)
	}
	return fmt.Sprintf("server %q must start with https://", s)
}

func article(destType string) string {
	if destType == DestExisting {
		return "an existing"
	}
	return "a " + destType
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func validDomain(s string) bool {
	if len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if !domainLabel.MatchString(l) {
			return false
		}
	}
	return true
}

func (p *parser) members(seq *yaml.Node) []Member {
	type seen struct {
		line, member int
	}
	emails, handles, usernames := map[string]seen{}, map[string]seen{}, map[string]seen{}
	unique := func(index map[string]seen, what, value string, v *yaml.Node, i int) {
		k := strings.ToLower(value)
		if first, dup := index[k]; dup {
			p.add(v, "duplicate %s %q: member %d on line %d has it already; each member needs their own", what, value, first.member, first.line)
			return
		}
		index[k] = seen{line: v.Line, member: i}
	}
	out := make([]Member, 0, len(seq.Content))
	for i, item := range seq.Content {
		n := i + 1
		item = resolve(item)
		if item.Kind != yaml.MappingNode {
			p.add(item, "member %d must be a mapping with `name` and `email`, not %s", n, describe(item))
			continue
		}
		m := p.fields(item, fmt.Sprintf("member %d", n), memberFields)
		var mem Member
		if s, ok := p.requiredText(m, "name", "`name: …`"); ok {
			mem.Name = s
		}
		if s, ok := p.requiredText(m, "email", "`email: …`"); ok {
			if msg := checkEmail(s); msg != "" {
				p.add(m.vals["email"], "%s", msg)
			} else {
				unique(emails, "email", s, m.vals["email"], n)
			}
			mem.Email = s
		}
		if s, ok := p.optText(m, "handle", false); ok {
			if strings.ContainsFunc(s, unicode.IsSpace) {
				p.add(m.vals["handle"], "handle %q must not contain spaces", s)
			} else {
				unique(handles, "handle", s, m.vals["handle"], n)
			}
			mem.Handle = s
		}
		if s, ok := p.optText(m, "username", false); ok {
			if !usernameRe.MatchString(s) {
				p.add(m.vals["username"], "username %q is not allowed: use letters, digits and '_', 1 to 30 characters", s)
			} else {
				unique(usernames, "username", s, m.vals["username"], n)
			}
			mem.Username = s
		}
		out = append(out, mem)
	}
	return out
}
