package groups

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/lifeboat-social/lifeboat/internal/atomicfile"
)

// Editing a group file: the file is the lead's, with their comments and
// their order, so an edit changes the yaml.v3 node tree in place and
// encodes that tree back, never the Group struct. Edits are pure
// functions on the file's bytes; EditFile applies one to the file on
// disk, unless it changed since it was read, and writes it atomically.

// Edit changes a document's root mapping.
type Edit func(root *yaml.Node) error

// ApplyEdit returns data with e applied.
func ApplyEdit(data []byte, e Edit) ([]byte, error) {
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

// subMapping returns the mapping under key, made at the end when missing.
func subMapping(m *yaml.Node, key string) *yaml.Node {
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

// Basics are the group's own fields a lead edits (the TUI's group screen).
type Basics struct {
	Title, Description, ViableMass, Deadline, LeadName, LeadEmail string
}

func EditBasics(b Basics) Edit {
	return func(root *yaml.Node) error {
		setScalar(root, "title", b.Title, tagStr)
		setScalar(root, "description", b.Description, tagStr)
		if _, err := strconv.Atoi(b.ViableMass); err != nil {
			return fmt.Errorf("viable mass %q is not a number", b.ViableMass)
		}
		setScalar(root, "viable_mass", b.ViableMass, tagInt)
		setScalar(root, "deadline", b.Deadline, tagPlain)
		lead := subMapping(root, "lead")
		setScalar(lead, "name", b.LeadName, tagStr)
		setScalar(lead, "email", b.LeadEmail, tagStr)
		return nil
	}
}

// EditAddMember appends a member to members.
func EditAddMember(mb Member) Edit {
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

// EditRemoveMember removes the member with email (any case).
func EditRemoveMember(email string) Edit {
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

// editedFields are the keys a destination type uses, in the file's order.
var editedFields = map[string][]string{
	DestLocal:    {"type", "software"},
	DestExisting: {"type", "server"},
	DestNew:      {"type", "software", "domain", "cloud", "location", "server_type"},
}

// EditDestination makes the destination exactly d: keys of other types
// are removed, the others set in place.
func EditDestination(d Destination) Edit {
	return func(root *yaml.Node) error {
		keep, ok := editedFields[d.Type]
		if !ok {
			return fmt.Errorf("unknown destination type %q", d.Type)
		}
		vals := map[string]string{"type": d.Type, "server": d.Server, "software": d.Software, "domain": d.Domain,
			"cloud": d.Cloud, "location": d.Location, "server_type": d.ServerType}
		m := subMapping(root, "destination")
		for i := 0; i+1 < len(m.Content); {
			if !slices.Contains(keep, m.Content[i].Value) {
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

// ErrChanged: the group file changed on disk since it was read (an
// edit in an editor meanwhile); nothing was written.
var ErrChanged = errors.New("the file changed on disk")

// EditFile applies e to the group file at path as it was read (was) and
// replaces the file atomically, keeping its mode. When the file on disk
// is no longer was, it writes nothing and returns ErrChanged.
func EditFile(path string, was []byte, e Edit) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	cur, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !bytes.Equal(cur, was) {
		return ErrChanged
	}
	out, err := ApplyEdit(cur, e)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, out, fi.Mode().Perm())
}
