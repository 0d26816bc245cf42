package tui

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"gopkg.in/yaml.v3"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/atomicfile"
)

// Editing a group file: the file is the lead's, with their comments and
// their order, so an edit changes the yaml.v3 node tree in place and
// encodes that tree back, never the Group struct. Edits are pure
// functions on the file's bytes; saveGroup runs them in a command, writes
// the result atomically and checks it again.

// edit changes a document's root mapping.
type edit func(root *yaml.Node) error

// applyEdit returns data with e applied.
func applyEdit(data []byte, e edit) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("read the group file: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("the group file is not a YAML mapping; fix it in an editor")
	}
	if err := e(doc.Content[0]); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("encode the group file: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// lookup returns the value node of key in mapping m, or nil.
func lookup(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// tags for scalars: strings are tagged so that e.g. "@ada" or "8" come
// out quoted; numbers and dates are left plain.
const (
	tagStr   = "!!str"
	tagInt   = "!!int"
	tagPlain = ""
)

func scalar(value, tag string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
}

// setScalar sets key in mapping m, keeping the key's place and comments;
// a new key goes at the end. An empty value removes the key.
func setScalar(m *yaml.Node, key, value, tag string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != key {
			continue
		}
		if value == "" {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return
		}
		v := m.Content[i+1]
		if v.Kind != yaml.ScalarNode {
			m.Content[i+1] = scalar(value, tag)
			return
		}
		v.Value, v.Tag, v.Style = value, tag, 0
		return
	}
	if value != "" {
		m.Content = append(m.Content, scalar(key, tagStr), scalar(value, tag))
	}
}

// mapping returns the mapping under key, made at the end when missing.
func mapping(m *yaml.Node, key string) *yaml.Node {
	if v := lookup(m, key); v != nil && v.Kind == yaml.MappingNode {
		return v
	}
	v := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return v
		}
	}
	m.Content = append(m.Content, scalar(key, tagStr), v)
	return v
}

// basics are the group's own fields the group screen edits.
type basics struct {
	Title, Description, ViableMass, Deadline, LeadName, LeadEmail string
}

func editBasics(b basics) edit {
	return func(root *yaml.Node) error {
		setScalar(root, "title", b.Title, tagStr)
		setScalar(root, "description", b.Description, tagStr)
		if _, err := strconv.Atoi(b.ViableMass); err != nil {
			return fmt.Errorf("viable mass %q is not a number", b.ViableMass)
		}
		setScalar(root, "viable_mass", b.ViableMass, tagInt)
		setScalar(root, "deadline", b.Deadline, tagPlain)
		lead := mapping(root, "lead")
		setScalar(lead, "name", b.LeadName, tagStr)
		setScalar(lead, "email", b.LeadEmail, tagStr)
		return nil
	}
}

// editAddMember appends a member to members.
func editAddMember(mb groups.Member) edit {
	return func(root *yaml.Node) error {
		seq := lookup(root, "members")
		if seq == nil || seq.Kind != yaml.SequenceNode {
			seq = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
			setNode(root, "members", seq)
		}
		m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		setScalar(m, "name", mb.Name, tagStr)
		setScalar(m, "email", mb.Email, tagStr)
		setScalar(m, "handle", mb.Handle, tagStr)
		setScalar(m, "username", mb.Username, tagStr)
		seq.Content = append(seq.Content, m)
		return nil
	}
}

func setNode(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, scalar(key, tagStr), v)
}

// editRemoveMember removes the member with email (any case).
func editRemoveMember(email string) edit {
	return func(root *yaml.Node) error {
		seq := lookup(root, "members")
		if seq == nil || seq.Kind != yaml.SequenceNode {
			return errors.New("the group file has no members list")
		}
		for i, n := range seq.Content {
			if n.Kind == yaml.MappingNode {
				if e := lookup(n, "email"); e != nil && strings.EqualFold(e.Value, email) {
					seq.Content = append(seq.Content[:i], seq.Content[i+1:]...)
					return nil
				}
			}
		}
		return fmt.Errorf("no member with email %s", email)
	}
}

// destFields are the keys a destination type uses, in the file's order.
var destFields = map[string][]string{
	groups.DestLocal:    {"type", "software"},
	groups.DestExisting: {"type", "server"},
	groups.DestNew:      {"type", "software", "domain", "cloud", "location", "server_type"},
}

// editDestination makes the destination exactly d: keys of other types
// are removed, the others set in place.
func editDestination(d groups.Destination) edit {
	return func(root *yaml.Node) error {
		keep, ok := destFields[d.Type]
		if !ok {
			return fmt.Errorf("unknown destination type %q", d.Type)
		}
		vals := map[string]string{"type": d.Type, "server": d.Server, "software": d.Software, "domain": d.Domain,
			"cloud": d.Cloud, "location": d.Location, "server_type": d.ServerType}
		m := mapping(root, "destination")
		for i := 0; i+1 < len(m.Content); {
			if !contains(keep, m.Content[i].Value) {
				m.Content = append(m.Content[:i], m.Content[i+2:]...)
				continue
			}
			i += 2
		}
		for _, k := range keep {
			setScalar(m, k, vals[k], tagStr)
		}
		return nil
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// writeAtomic replaces path with data atomically, keeping the file's mode.
func writeAtomic(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	return atomicfile.Write(path, data, mode)
}

// readGroup reads and checks a group file.
func readGroup(path string) groupLoadedMsg {
	data, err := os.ReadFile(path)
	if err != nil {
		return groupLoadedMsg{path: path, err: err}
	}
	g, probs := groups.Parse(path, data)
	return groupLoadedMsg{path: path, data: data, group: g, probs: probs}
}

// loadGroup reads path, remembers it as a recent file and tells the store
// where the group's file is.
func loadGroup(d Deps, path string, note string) tea.Cmd {
	return func() tea.Msg {
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
		msg := readGroup(path)
		msg.note = note
		if msg.err == nil {
			rememberRecent(d.StateDir, path)
			rememberInStore(d, msg)
		}
		return msg
	}
}

// saveGroup applies e to the file as last read, writes it and reads it
// back; the file on disk is compared first so an edit made meanwhile in
// an editor is not overwritten.
func saveGroup(d Deps, path string, was []byte, e edit, note string) tea.Cmd {
	return func() tea.Msg {
		cur, err := os.ReadFile(path)
		if err != nil {
			return statusMsg("not saved: " + err.Error())
		}
		if !bytes.Equal(cur, was) {
			msg := readGroup(path)
			msg.note = "not saved: the file changed on disk; reloaded it, try again"
			return msg
		}
		out, err := applyEdit(cur, e)
		if err != nil {
			return statusMsg("not saved: " + err.Error())
		}
		if err := writeAtomic(path, out); err != nil {
			return statusMsg("not saved: " + err.Error())
		}
		msg := readGroup(path)
		msg.note = note
		if msg.err == nil {
			rememberInStore(d, msg)
		}
		return msg
	}
}
