package follows

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// An X archive (the zip from "Download an archive of your data") keeps
// each kind of data in data/KIND.js, large kinds split into
// data/KIND-partN.js, each a JavaScript assignment of a JSON list:
//
//	window.YTD.following.part0 = [ {"following": {"accountId": "…", "userLink": "…"}} ]
//
// account.js names the owner (with their e-mail and more, which is not
// kept); following.js and follower.js list accounts by numeric id only.
var xEntry = regexp.MustCompile(`^(?:[^/]+/)?data/(account|following|follower)(?:-part[0-9]+)?\.js$`)

// xPrefix is the assignment before the JSON: the data kind and the part.
var xPrefix = regexp.MustCompile(`^window\.YTD\.([a-z_]+)\.part[0-9]+ *$`)

// readX reads an X archive: data/account.js for the owner's username and
// id, data/following.js and data/follower.js for the follows, and nothing
// else.
func readX(a *archive) (*Export, error) {
	ex := &Export{File: a.file, Network: X, Format: "X archive"}
	var accounts, followingFiles int
	for _, f := range a.zr.File {
		m := xEntry.FindStringSubmatch(f.Name)
		if m == nil {
			continue
		}
		kind := m[1]
		err := a.readJS(f, kind, func(n int, dec *json.Decoder) error {
			switch kind {
			case "account":
				accounts++
				if accounts > 1 {
					return fmt.Errorf("a second account; an archive is one person's")
				}
				return readXAccount(dec, &ex.Self)
			case "following":
				return readXRef(dec, kind, &ex.Following, a.lim)
			default:
				return readXRef(dec, kind, &ex.Followers, a.lim)
			}
		})
		if err != nil {
			return nil, err
		}
		if kind == "following" {
			followingFiles++
		}
	}
	switch {
	case accounts == 0:
		return nil, errorf(a.file, "", "no data/account.js with the owner's account: not a whole X archive")
	case followingFiles == 0:
		return nil, errorf(a.file, "", "no data/following.js: not a whole X archive")
	}
	return ex, nil
}

// readJS streams one data/KIND.js entry, calling record for each element
// of its list.
func (a *archive) readJS(f *zip.File, kind string, record func(n int, dec *json.Decoder) error) error {
	rc, err := a.open(f)
	if err != nil {
		return err
	}
	defer rc.Close()
	m := &meter{r: rc}
	br := bufio.NewReader(m)
	where := entryWhere(f.Name, 0)
	prefix, err := br.ReadSlice('=')
	if err != nil {
		if err == bufio.ErrBufferFull || err == io.EOF {
			return errorf(a.file, where, "does not start with window.YTD.%s.partN = : not an X archive file", kind)
		}
		return fail(a.file, where, err, a.lim)
	}
	prefix = bytes.TrimPrefix(bytes.TrimSpace(prefix[:len(prefix)-1]), []byte("\ufeff"))
	pm := xPrefix.FindSubmatch(prefix)
	if pm == nil || string(pm[1]) != kind {
		return errorf(a.file, where, "starts with %s, not window.YTD.%s.partN = ", quote(string(prefix)), kind)
	}
	dec := json.NewDecoder(br)
	n := 0
	err = expectDelim(dec, '[')
	if err == nil {
		n, err = eachElement(dec, m, func(n int) error { return record(n, dec) })
	}
	if err == nil {
		err = expectEnd(dec, br, true)
	}
	if err != nil {
		return fail(a.file, entryWhere(f.Name, n), err, a.lim)
	}
	return nil
}

func readXAccount(dec *json.Decoder, self *Account) error {
	var rec struct {
		Account *struct {
			Username  string `json:"username"`
			AccountID string `json:"accountId"`
		} `json:"account"`
	}
	if err := dec.Decode(&rec); err != nil {
		return err
	}
	switch {
	case rec.Account == nil:
		return fmt.Errorf(`no "account" object`)
	case !xUsername(rec.Account.Username):
		return fmt.Errorf("username %s is not an X username (letters, digits and _)", quote(rec.Account.Username))
	case !xID(rec.Account.AccountID):
		return fmt.Errorf("accountId %s is not a number", quote(rec.Account.AccountID))
	}
	*self = Account{Handle: rec.Account.Username, ID: rec.Account.AccountID}
	return nil
}

func readXRef(dec *json.Decoder, kind string, list *[]Account, lim Limits) error {
	type ref struct {
		AccountID string `json:"accountId"`
		UserLink  string `json:"userLink"`
	}
	var rec struct {
		Following *ref `json:"following"`
		Follower  *ref `json:"follower"`
	}
	if err := dec.Decode(&rec); err != nil {
		return err
	}
	r := rec.Following
	if kind == "follower" {
		r = rec.Follower
	}
	switch {
	case r == nil:
		return fmt.Errorf("no %q object", kind)
	case !xID(r.AccountID):
		return fmt.Errorf("accountId %s is not a number", quote(r.AccountID))
	case r.UserLink != "" && !strings.HasSuffix(r.UserLink, "user_id="+r.AccountID):
		return fmt.Errorf("userLink %s is not the link of account %s", quote(r.UserLink), r.AccountID)
	case len(*list) >= lim.MaxAccounts:
		return &Error{Msg: fmt.Sprintf("more than %d accounts in one list", lim.MaxAccounts), Err: ErrTooLarge}
	}
	*list = append(*list, Account{ID: r.AccountID})
	return nil
}

// xUsername: X usernames are letters, digits and underscores, at most
// 15 characters today (some old accounts have a few more).
func xUsername(s string) bool { return asciiName(s, 50, "_") }

func xID(s string) bool { return asciiName(s, 20, "") && strings.Trim(s, "0123456789") == "" }
