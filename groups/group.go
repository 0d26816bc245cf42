// Package groups reads and checks the group file (group.yaml): who is in a
// breakout group, how many must pledge before it launches, and where it
// goes. Every problem is reported with the line and column of the YAML
// node it concerns.
package groups

import (
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Enrolment modes: who may join the group from its public join page.
const (
	EnrolClosed   = "closed"   // only the members the file lists
	EnrolApproval = "approval" // anyone may ask; the lead approves each
	EnrolOpen     = "open"     // anyone who confirms their email is in
)

// EnrolmentOrDefault is Enrolment, or closed when unset.
func (g *Group) EnrolmentOrDefault() string {
	if g.Enrolment == "" {
		return EnrolClosed
	}
	return g.Enrolment
}

// Destination types.
const (
	DestLocal    = "local"
	DestExisting = "existing"
	DestNew      = "new"
)

// Group is a parsed, valid group file (version 1).
type Group struct {
	Version     int    `yaml:"version" json:"version"`
	Name        string `yaml:"name" json:"name"`
	Title       string `yaml:"title" json:"title"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Tags are the group's topics: the directory of groups lists it
	// under each.
	Tags       []string   `yaml:"tags,omitempty" json:"tags,omitempty"`
	ViableMass int        `yaml:"viable_mass" json:"viable_mass"`
	Deadline   *time.Time `yaml:"deadline,omitempty" json:"deadline,omitempty"` // a date; the end of that day UTC
	// LaunchAt is the moment the group launches if it is viable then
	// (not whenever the last pledge happens to come in); nil: at once.
	LaunchAt *time.Time `yaml:"launch_at,omitempty" json:"launch_at,omitempty"`
	// Enrolment says who may join besides the members the file lists:
	// nobody (closed, the default), people the lead approves, or anyone
	// who confirms their email (open). See EnrolmentOrDefault.
	Enrolment   string      `yaml:"enrolment,omitempty" json:"enrolment,omitempty"`
	Lead        Person      `yaml:"lead" json:"lead"`
	Destination Destination `yaml:"destination" json:"destination"`
	Members     []Member    `yaml:"members" json:"members"`
}

// Person is the group lead.
type Person struct {
	Name  string `yaml:"name" json:"name"`
	Email string `yaml:"email" json:"email"`
}

// Destination says where the group goes.
type Destination struct {
	Type       string `yaml:"type" json:"type"`                                   // local | existing | new
	Server     string `yaml:"server,omitempty" json:"server,omitempty"`           // existing
	Software   string `yaml:"software,omitempty" json:"software,omitempty"`       // new, local: gotosocial | mastodon
	Domain     string `yaml:"domain,omitempty" json:"domain,omitempty"`           // new
	Cloud      string `yaml:"cloud,omitempty" json:"cloud,omitempty"`             // new: hetzner
	Location   string `yaml:"location,omitempty" json:"location,omitempty"`       // new
	ServerType string `yaml:"server_type,omitempty" json:"server_type,omitempty"` // new
}

// Member is one person the lead wants to bring.
type Member struct {
	Name     string `yaml:"name" json:"name"`
	Email    string `yaml:"email" json:"email"`
	Handle   string `yaml:"handle,omitempty" json:"handle,omitempty"`     // old-network handle
	Username string `yaml:"username,omitempty" json:"username,omitempty"` // wanted username
}

// Member returns the member with the given email, compared without regard
// to case, as emails in a group file are unique that way.
func (g *Group) Member(email string) (Member, bool) {
	for _, m := range g.Members {
		if strings.EqualFold(m.Email, email) {
			return m, true
		}
	}
	return Member{}, false
}

// SoftwareOrDefault is the software a local or new destination runs:
// Software, or gotosocial when unset. It is "" for an existing server,
// whose software is found by scouting it. Parse already fills Software in;
// this is for Groups built in code.
func (d Destination) SoftwareOrDefault() string {
	if d.Type == DestExisting {
		return ""
	}
	if d.Software == "" {
		return SoftwareGoToSocial
	}
	return d.Software
}

// Validate checks a Group built or changed in code by the same rules as
// Parse. Positions in the problems refer to the Group encoded as YAML.
func (g *Group) Validate() Problems {
	data, err := yaml.Marshal(g)
	if err != nil {
		return Problems{{Line: 1, Col: 1, Msg: "cannot encode the group: " + err.Error()}}
	}
	_, probs := Parse("group", data)
	return probs
}
