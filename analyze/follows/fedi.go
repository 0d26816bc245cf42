package follows

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Mastodon exports the accounts one follows (Preferences → Import and
// export → Data export → Follows) as following_accounts.csv:
//
//	Account address,Show boosts,Notify on new posts,Languages
//	ada_example@social.example,true,false,
//
// GoToSocial (0.17) writes following.csv with the first two columns only,
// and followers.csv with one, Account address. Addresses are user@domain,
// local accounts included, without the leading @. Neither file names its
// owner.
var fediHeaders = []struct {
	header    string
	followers bool
	format    string
}{
	{"Account address,Show boosts,Notify on new posts,Languages", false, "Mastodon following list"},
	{"Account address,Show boosts", false, "GoToSocial following list"},
	{"Account address", true, "GoToSocial followers list"},
}

// ReadFediCSV reads a Mastodon or GoToSocial follow list. Self is left
// empty: the file does not say whose it is.
func ReadFediCSV(file string, r io.Reader, lim Limits) (*Export, error) {
	m := &meter{r: &capReader{r: r, n: lim.MaxBytes}}
	br := bufio.NewReader(m)
	// Tell the header apart before the CSV reader sees it, so that a
	// wrong file is named as such rather than as a CSV error on line 2.
	first, err := br.ReadString('\n')
	if err != nil && !(err == io.EOF && first != "") {
		return nil, fail(file, "line 1", err, lim)
	}
	header := strings.TrimRight(strings.TrimPrefix(first, "\ufeff"), "\r\n")
	kind := -1
	for i, h := range fediHeaders {
		if header == h.header {
			kind = i
		}
	}
	if kind < 0 {
		return nil, errorf(file, "line 1", "the header is %s; a Mastodon or GoToSocial follow list starts with %q",
			quote(header), fediHeaders[0].header)
	}
	h := fediHeaders[kind]
	ex := &Export{File: file, Network: Fedi, Format: h.format}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = strings.Count(h.header, ",") + 1
	cr.ReuseRecord = true
	// The CSV reader counts lines from the one after the header.
	last := 1
	for {
		m.reset()
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, errorf(file, fmt.Sprintf("line %d", pe.Line+1), "%v", pe.Err)
		}
		if err != nil {
			return nil, fail(file, fmt.Sprintf("line %d", last+1), err, lim)
		}
		last, _ = cr.FieldPos(0)
		last++
		where := fmt.Sprintf("line %d", last)
		addr, err := fediAddress(rec[0])
		if err != nil {
			return nil, errorf(file, where, "%v", err)
		}
		for i, v := range rec[1:min(len(rec), 3)] {
			if v != "true" && v != "false" {
				return nil, errorf(file, where, "%s is %s, not true or false", strings.Split(h.header, ",")[i+1], quote(v))
			}
		}
		list := &ex.Following
		if h.followers {
			list = &ex.Followers
		}
		if len(*list) >= lim.MaxAccounts {
			return nil, tooLarge(file, where, "more than %d accounts", lim.MaxAccounts)
		}
		*list = append(*list, Account{Handle: addr})
	}
	return ex, nil
}

// fediAddress checks a user@domain address (a leading @ is allowed) and
// returns it as user@domain in lower case: Mastodon and GoToSocial match
// usernames and domains without regard to case.
func fediAddress(s string) (string, error) {
	// Lower-cased before the checks: lower case can be longer in UTF-8.
	a := strings.ToLower(strings.TrimPrefix(s, "@"))
	user, domain, ok := strings.Cut(a, "@")
	if !ok || user == "" || domain == "" || strings.ContainsAny(domain, "@/") || !plainName(a) ||
		strings.ContainsAny(user, ",") || !strings.Contains(domain, ".") && !strings.HasPrefix(domain, "localhost") {
		return "", fmt.Errorf("%s is not an address user@domain", quote(s))
	}
	return a, nil
}
