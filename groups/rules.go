package groups

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"
)

// The rules of a group file, version 1: what each field may hold and
// how the fields depend on each other. The reader (parse.go) hands them
// the file's nodes with their positions.

// Software a local or new destination can run.
const (
	SoftwareGoToSocial = "gotosocial"
	SoftwareMastodon   = "mastodon"
)

// CloudHetzner is the only cloud a new destination can be provisioned on.
const CloudHetzner = "hetzner"

var (
	slugRe      = regexp.MustCompile(`^[a-z0-9-]{3,40}$`)
	usernameRe  = regexp.MustCompile(`^[A-Za-z0-9_]{1,30}$`)
	hetznerIDRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	domainLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	tagRe       = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
)

// Limits on tags: the directory lists groups by them, so a few short
// topics, not a keyword list.
const (
	MaxTags   = 8
	MaxTagLen = 30
)

// Fields at each level of the file, in the order the docs list them.
var (
	topFields    = []string{"version", "name", "title", "description", "tags", "viable_mass", "deadline", "launch_at", "enrolment", "lead", "destination", "members"}
	leadFields   = []string{"name", "email"}
	destFields   = []string{"type", "server", "software", "domain", "cloud", "location", "server_type"}
	memberFields = []string{"name", "email", "handle", "username"}
)

// ValidName reports whether name is a valid group name: a slug of
// lower-case letters, digits and '-', 3 to 40 characters.
func ValidName(name string) bool { return slugRe.MatchString(name) }

// ValidEmail reports whether s is an address the group file would take:
// a plain address whose domain has a dot.
func ValidEmail(s string) bool { return checkEmail(s) == "" }

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

	if v, present := top.vals["tags"]; present {
		g.Tags = p.tags(v)
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
		t, err := parseMoment(s)
		if err != nil {
			p.add(top.vals["launch_at"], "launch_at %q is not a date and time with a zone: write it like 2027-03-01T18:00:00+01:00 (or ...Z for UTC)", s)
		} else {
			g.LaunchAt = &t
		}
	}

	if s, ok := p.optText(top, "enrolment", false); ok {
		switch s {
		case EnrolClosed, EnrolApproval, EnrolOpen:
			g.Enrolment = s
		default:
			msg := fmt.Sprintf("unknown enrolment %q; use closed (only the members listed), approval (you approve who joins) or open (anyone who confirms their email)", s)
			if sug := suggest(s, []string{EnrolClosed, EnrolApproval, EnrolOpen}); sug != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", sug)
			}
			p.add(top.vals["enrolment"], "%s", msg)
		}
	}
	// With approval or open enrolment the join page brings people in, so
	// the file may list few members or none, and does not bound
	// viable_mass.
	joinable := g.Enrolment == EnrolApproval || g.Enrolment == EnrolOpen

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
	} else if len(v.Content) == 0 && !joinable {
		p.add(v, "`members` is empty; add the people you want to bring, each with a name and email, or let people join from the group's page with `enrolment: open` (or `approval`)")
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
		case nMembers > 0 && vm > nMembers && !joinable:
			p.add(node, "viable_mass is %d but there are only %d members; lower it to at most %d, add members, or let people join from the group's page with `enrolment: open` (or `approval`)", vm, nMembers, nMembers)
		}
		g.ViableMass = vm
	}
	return g
}

// tags reads the group's topics: a list of at most MaxTags distinct
// slugs, each at most MaxTagLen long.
func (p *parser) tags(v *yaml.Node) []string {
	if v.Kind != yaml.SequenceNode {
		p.add(v, "`tags` must be a list of topics, e.g. `tags: [birds, nature]`; found %s", describe(v))
		return nil
	}
	if len(v.Content) > MaxTags {
		p.add(v, "`tags` has %d topics; at most %d, so the directory stays readable", len(v.Content), MaxTags)
		return nil
	}
	seen := map[string]int{}
	var out []string
	for _, item := range v.Content {
		item = resolve(item)
		if item.Kind != yaml.ScalarNode || item.Tag != "!!str" && item.Tag != "!!int" {
			p.add(item, "a tag must be a word like `birds`; found %s", describe(item))
			continue
		}
		t := item.Value
		switch {
		case len(t) > MaxTagLen || !tagRe.MatchString(t):
			p.add(item, "tag %q is not allowed: use lower-case letters, digits and single '-' between them, at most %d characters", t, MaxTagLen)
		case seen[t] > 0:
			p.add(item, "tag %q is already listed on line %d", t, seen[t])
		default:
			seen[t] = item.Line
			out = append(out, t)
		}
	}
	return out
}

// parseDeadline reads YYYY-MM-DD (meaning the end of that day, UTC) or an
// RFC 3339 time.
func parseDeadline(s string) (time.Time, error) {
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		return writable(d.Add(24*time.Hour - time.Second).UTC())
	}
	return parseMoment(s)
}

// parseMoment reads an RFC 3339 time as UTC.
func parseMoment(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, err
	}
	return writable(t.UTC())
}

// writable refuses a moment the group file could not hold as read: one
// before year 1 in UTC (an early date in year 1 with a positive offset,
// or a date in year 0), which RFC 3339 cannot write, and year 1's very
// first instant, Go's zero time, which Lifeboat reads as "no time".
func writable(t time.Time) (time.Time, error) {
	if !t.After(time.Time{}) {
		return time.Time{}, errors.New("not after the first instant of year 1")
	}
	return t, nil
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
