package follows

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path"
	"regexp"
	"strings"
)

// Instagram's export (Accounts Center → Your information and permissions
// → Export your information, format JSON) holds, under
// connections/followers_and_following/:
//
//	following.json    {"relationships_following": [ENTRY, …]}
//	followers_1.json  [ENTRY, …]   (followers_2.json, … for more)
//
// and a Threads export, under threads/ or your_instagram_activity/threads/:
//
//	following.json    {"text_post_app_text_post_app_following": [ENTRY, …]}
//	followers.json    {"text_post_app_text_post_app_followers": [ENTRY, …]}
//
// where an ENTRY is
//
//	{"title": "", "media_list_data": [], "string_list_data": [{"href": "https://www.instagram.com/ada.example", "value": "ada.example", "timestamp": 1700000000}]}
//
// (newer exports put the username in title and leave value out). Threads
// accounts are Instagram accounts under the same username, so both get
// the network ig. No file names the owner.
var metaKeys = map[string]struct {
	followers bool
	format    string
}{
	"relationships_following":               {false, "Instagram following list"},
	"text_post_app_text_post_app_following": {false, "Threads following list"},
	"text_post_app_text_post_app_followers": {true, "Threads followers list"},
}

// metaEntry matches the follow files in an export zip.
var metaEntry = regexp.MustCompile(`^(following|followers(?:_[0-9]+)?)\.(json|html)$`)

// ReadMetaJSON reads one Instagram or Threads follow list, following or
// followers, as a loose JSON file. Self is left empty.
func ReadMetaJSON(file string, r io.Reader, lim Limits) (*Export, error) {
	ex := &Export{File: file, Network: Meta}
	if err := readMetaList(file, "", &capReader{r: r, n: lim.MaxBytes}, ex, lim); err != nil {
		return nil, err
	}
	return ex, nil
}

// readMetaZip reads the follow lists of an Instagram or Threads export
// zip, and nothing else in it. Self is left empty.
func readMetaZip(a *archive) (*Export, error) {
	ex := &Export{File: a.file, Network: Meta, Format: "Instagram/Threads export"}
	var lists, html int
	for _, f := range a.zr.File {
		m := metaEntry.FindStringSubmatch(path.Base(f.Name))
		if m == nil {
			continue
		}
		if m[2] == "html" {
			html++
			continue
		}
		lists++
		rc, err := a.open(f)
		if err != nil {
			return nil, err
		}
		err = readMetaList(a.file, f.Name, rc, ex, a.lim)
		rc.Close()
		if err != nil {
			return nil, fail(a.file, entryWhere(f.Name, 0), err, a.lim)
		}
	}
	switch {
	case lists == 0 && html > 0:
		return nil, errorf(a.file, "", "an export in HTML; export again and choose the format JSON")
	case lists == 0:
		return nil, errorf(a.file, "", "no following.json or followers_1.json: not an Instagram or Threads export of followers and following")
	}
	return ex, nil
}

// readMetaList reads one follow list document into ex. entry names the
// zip entry it came from, "" for a loose file.
func readMetaList(file, entry string, r io.Reader, ex *Export, lim Limits) error {
	where := func(n int) string {
		switch {
		case entry != "":
			return entryWhere(entry, n)
		case n > 0:
			return fmt.Sprintf("record %d", n)
		}
		return ""
	}
	m := &meter{r: r}
	dec := json.NewDecoder(m)
	tok, err := dec.Token()
	if err != nil {
		return fail(file, where(0), err, lim)
	}
	followers, format := true, "Instagram followers list"
	switch tok {
	case json.Delim('['):
	case json.Delim('{'):
		key, err := dec.Token()
		if err != nil {
			return fail(file, where(0), err, lim)
		}
		k, _ := key.(string)
		kind, ok := metaKeys[k]
		if !ok {
			return errorf(file, where(0), "the object holds %s, not a follow list (relationships_following or text_post_app_text_post_app_following)", quote(fmt.Sprint(key)))
		}
		followers, format = kind.followers, kind.format
		if err := expectDelim(dec, '['); err != nil {
			return fail(file, where(0), err, lim)
		}
	default:
		return errorf(file, where(0), "wrong shape: want a follow list, a JSON list or object, found %s", tokenName(tok))
	}
	list := &ex.Following
	if followers {
		list = &ex.Followers
	}
	n, err := eachElement(dec, m, func(n int) error {
		var e struct {
			Title          string `json:"title"`
			StringListData []struct {
				Href  string `json:"href"`
				Value string `json:"value"`
			} `json:"string_list_data"`
		}
		if err := dec.Decode(&e); err != nil {
			return err
		}
		if len(e.StringListData) == 0 {
			return fmt.Errorf("no string_list_data with the account")
		}
		d := e.StringListData[0]
		name := d.Value
		if name == "" {
			name = e.Title
		}
		if name == "" {
			name = metaUserFromLink(d.Href)
		}
		if !metaUsername(name) {
			return fmt.Errorf("%s is not an Instagram username (letters, digits, . and _)", quote(name))
		}
		if len(*list) >= lim.MaxAccounts {
			return &Error{Msg: fmt.Sprintf("more than %d accounts in one list", lim.MaxAccounts), Err: ErrTooLarge}
		}
		*list = append(*list, Account{Handle: strings.ToLower(name)})
		return nil
	})
	if err == nil && tok == json.Delim('{') {
		if dec.More() {
			return errorf(file, where(0), "a second key after the follow list")
		}
		err = expectDelim(dec, '}')
	}
	if err == nil {
		err = expectEnd(dec, m, false)
	}
	if err != nil {
		return fail(file, where(n), err, lim)
	}
	if ex.Format == "" {
		ex.Format = format
	}
	return nil
}

// metaUserFromLink takes the username out of a profile link:
// instagram.com/NAME, instagram.com/_u/NAME, threads.net/@NAME.
func metaUserFromLink(href string) string {
	u, err := url.Parse(href)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(path.Base(strings.TrimSuffix(u.Path, "/")), "@")
}

// metaUsername: Instagram usernames are at most 30 letters, digits,
// periods and underscores.
func metaUsername(s string) bool { return asciiName(s, 30, "._") }
