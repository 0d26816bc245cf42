package groups

import (
	"strconv"
	"strings"
)

// Username is the username a member is offered by default: the one the
// group file asks for, else one made from the email's local part
// (lower case; dots, dashes and pluses become _; other characters are
// dropped; at most 30), so it is the same on the invite page, in the
// demo and in every run. When two members would get the same one, the
// later in the file gets _2, _3, … (the file order decides, so every run
// agrees), and a wished username is never given to anyone else.
func (g *Group) Username(email string) string {
	taken := map[string]bool{}
	for _, m := range g.Members {
		if m.Username != "" {
			taken[strings.ToLower(m.Username)] = true
		}
	}
	for _, m := range g.Members {
		if m.Username != "" {
			if strings.EqualFold(m.Email, email) {
				return m.Username
			}
			continue
		}
		base := usernameFromEmail(m.Email)
		u := base
		for n := 2; taken[strings.ToLower(u)]; n++ {
			u = withSuffix(base, n)
		}
		taken[strings.ToLower(u)] = true
		if strings.EqualFold(m.Email, email) {
			return u
		}
	}
	return usernameFromEmail(email)
}

func usernameFromEmail(email string) string {
	local, _, _ := strings.Cut(strings.ToLower(email), "@")
	var b strings.Builder
	for _, r := range local {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		case r == '.' || r == '-' || r == '+':
			b.WriteRune('_')
		}
	}
	u := b.String()
	if u == "" {
		u = "member"
	}
	if len(u) > 30 {
		u = u[:30]
	}
	return u
}

// withSuffix appends _n, shortening base to stay within 30 characters.
func withSuffix(base string, n int) string {
	suffix := "_" + strconv.Itoa(n)
	if len(base)+len(suffix) > 30 {
		base = base[:30-len(suffix)]
	}
	return base + suffix
}
