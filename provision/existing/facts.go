package existing

import (
	"fmt"
	"strings"
)

// Facts are the report's facts for people, as label and value rows in
// this order: software, registrations, active users, languages, contact,
// and characters (when the server says). "lifeboat scout" and the TUI
// both show them.
func (r *Report) Facts() [][2]string {
	version := r.Version
	if version == "" {
		version = "(version not published)"
	}
	reg := r.Registrations
	switch {
	case r.Registrations == Approval && r.ReasonRequired:
		reg += " (a reason is required)"
	case r.Registrations == Closed && r.SignUpURL != "":
		reg += " (sign-up elsewhere: " + r.SignUpURL + ")"
	}
	active := "not published"
	if r.ActiveUsers > 0 {
		active = fmt.Sprintf("%d a month", r.ActiveUsers)
	}
	rows := [][2]string{{"software", r.Software + " " + version}, {"registrations", reg}, {"active users", active},
		{"languages", orNone(strings.Join(r.Languages, ", "))}, {"contact", orNone(r.ContactLine())}}
	if r.MinAge > 0 {
		rows = append(rows, [2]string{"minimum age", fmt.Sprintf("%d (its sign-up asks for a date of birth)", r.MinAge)})
	}
	if r.MaxCharacters > 0 {
		rows = append(rows, [2]string{"characters", fmt.Sprintf("%d a post", r.MaxCharacters)})
	}
	return rows
}

// ContactLine is the contact email and account, comma-separated; "" when
// the server names neither.
func (r *Report) ContactLine() string {
	var c []string
	for _, x := range []string{r.Contact.Email, r.Contact.Account} {
		if x != "" {
			c = append(c, x)
		}
	}
	return strings.Join(c, ", ")
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
