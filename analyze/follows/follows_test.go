package follows

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func ids(ids ...string) []Account {
	var out []Account
	for _, id := range ids {
		out = append(out, Account{ID: id})
	}
	return out
}

func handles(hs ...string) []Account {
	var out []Account
	for _, h := range hs {
		out = append(out, Account{Handle: h})
	}
	return out
}

// TestReadFixtures: each importer reads its fixture to exactly the owner
// and the follow lists written in it, and nothing else.
func TestReadFixtures(t *testing.T) {
	for _, c := range []struct {
		file string
		want Export
	}{
		{"x-ada.zip", Export{Network: X, Format: "X archive",
			Self: Account{Handle: "ada_example", ID: "1001"}, Following: ids("1002", "1003", "1004"), Followers: ids("1002", "1005")}},
		{"x-ben.zip", Export{Network: X, Format: "X archive",
			Self: Account{Handle: "Ben_Example", ID: "1002"}, Following: ids("1001", "1003"), Followers: ids("1001")}},
		{"bsky-ada.car", Export{Network: Bluesky, Format: "Bluesky repository",
			Self: Account{ID: didAda}, Following: ids(didBen, didCleo, didDev)}},
		{"following_accounts.csv", Export{Network: Fedi, Format: "Mastodon following list",
			Following: handles("ada_example@social.example", "ben@social.example", "finn@other.example")}},
		{"gts-following.csv", Export{Network: Fedi, Format: "GoToSocial following list",
			Following: handles("ada_example@social.example", "cleo@social.example")}},
		{"gts-followers.csv", Export{Network: Fedi, Format: "GoToSocial followers list",
			Followers: handles("ada_example@social.example", "ben@social.example")}},
		{"instagram-eve.zip", Export{Network: Meta, Format: "Instagram/Threads export",
			Following: handles("ada.example", "ben.example", "dev.example"), Followers: handles("ada.example", "cleo_example")}},
		{"threads-following.json", Export{Network: Meta, Format: "Threads following list", Following: handles("dev.example")}},
		{"instagram-eve/connections/followers_and_following/followers_1.json", Export{Network: Meta,
			Format: "Instagram followers list", Followers: handles("ada.example", "cleo_example")}},
	} {
		t.Run(c.file, func(t *testing.T) {
			path := filepath.Join("testdata", c.file)
			got, err := ReadFile(path, DefaultLimits)
			if err != nil {
				t.Fatal(err)
			}
			c.want.File = path
			if !reflect.DeepEqual(*got, c.want) {
				t.Errorf("read\n%+v\nwant\n%+v", *got, c.want)
			}
		})
	}
}

// TestEdges: the exports of several people become one edge list; ben's
// X archive gives his handle to the id ada's archive names him by, and
// owners given for files that do not name one are used.
func TestEdges(t *testing.T) {
	var exports []*Export
	for _, c := range []struct{ file, owner string }{
		{"x-ada.zip", ""},
		{"x-ben.zip", "@ben_example"},
		{"bsky-ada.car", ""},
		{"gts-following.csv", "@Dev@gts.example"},
		{"gts-followers.csv", "dev@gts.example"},
		{"threads-following.json", "@Eve.Example"},
	} {
		ex, err := ReadFile(filepath.Join("testdata", c.file), DefaultLimits)
		if err != nil {
			t.Fatal(err)
		}
		if c.owner != "" {
			if err := ex.SetOwner(c.owner); err != nil {
				t.Fatal(err)
			}
		}
		exports = append(exports, ex)
	}
	got, err := Edges(exports)
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]string{
		{"x:ada_example", "x:ben_example"}, {"x:ada_example", "x:id:1003"}, {"x:ada_example", "x:id:1004"},
		{"x:ben_example", "x:ada_example"}, {"x:id:1005", "x:ada_example"},
		{"x:ben_example", "x:id:1003"},
		{"bsky:" + didAda, "bsky:" + didBen}, {"bsky:" + didAda, "bsky:" + didCleo}, {"bsky:" + didAda, "bsky:" + didDev},
		{"fedi:@dev@gts.example", "fedi:@ada_example@social.example"}, {"fedi:@dev@gts.example", "fedi:@cleo@social.example"},
		{"fedi:@ada_example@social.example", "fedi:@dev@gts.example"}, {"fedi:@ben@social.example", "fedi:@dev@gts.example"},
		{"ig:eve.example", "ig:dev.example"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("edges\n%q\nwant\n%q", got, want)
	}

	// A list that does not name its owner, and nobody did.
	csv, err := ReadFile("testdata/following_accounts.csv", DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Edges([]*Export{csv}); !errors.Is(err, ErrNoOwner) || !strings.Contains(err.Error(), "following_accounts.csv: a Mastodon following list does not say whose it is") {
		t.Errorf("Edges without an owner: %v", err)
	}
}

func TestSetOwner(t *testing.T) {
	for _, c := range []struct {
		network     Network
		self        Account
		owner, want string // want: the label, or the error's words
	}{
		{Fedi, Account{}, "@Ada@Social.Example", "fedi:@ada@social.example"},
		{Fedi, Account{}, "ada", `"ada" is not an address @user@domain`},
		// Lower case is longer in UTF-8 here: the label must still fit.
		{Fedi, Account{}, "@a@" + strings.Repeat("\u023a", 90) + ".example", "is not an address @user@domain"},
		{Meta, Account{}, "@ada.example", "ig:ada.example"},
		{Meta, Account{}, "ada example", `"ada example" is not an Instagram username`},
		{X, Account{Handle: "ada_example", ID: "1001"}, "@Ada_Example", "x:ada_example"},
		{X, Account{Handle: "ada_example", ID: "1001"}, "ben_example", "the export is x:ada_example's, not x:ben_example's"},
		{Bluesky, Account{ID: didAda}, didBen, "the export is bsky:" + didAda + "'s, not bsky:" + didBen + "'s"},
		{Bluesky, Account{}, "ada.bsky.social", "is not a DID"},
	} {
		ex := &Export{File: "f", Network: c.network, Self: c.self}
		err := ex.SetOwner(c.owner)
		switch {
		case err != nil && (!errors.Is(err, ErrOwner) || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s owner %q: %v, want %q", c.network, c.owner, err, c.want)
		case err == nil && Label(c.network, ex.Self) != c.want:
			t.Errorf("%s owner %q: label %q, want %q", c.network, c.owner, Label(c.network, ex.Self), c.want)
		}
	}
}

// small are limits a test can exceed cheaply; fewBytes only in bytes.
var (
	small    = Limits{MaxBytes: 4096, MaxEntries: 8, MaxAccounts: 3}
	fewBytes = Limits{MaxBytes: 4096, MaxEntries: 1000, MaxAccounts: 1000}
)

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// xZip is ada's archive with some files replaced (nil removes one).
func xZip(t *testing.T, deflate bool, replace map[string][]byte) []byte {
	files := map[string][]byte{}
	var names []string
	for _, n := range []string{"data/account.js", "data/following.js", "data/follower.js"} {
		data, err := os.ReadFile("testdata/x-ada/" + n)
		if err != nil {
			t.Fatal(err)
		}
		files[n] = data
	}
	for n, data := range replace {
		files[n] = data
	}
	for _, n := range []string{"data/account.js", "data/following.js", "data/follower.js", "data/following-part1.js", "data/account.js.dup"} {
		if files[n] != nil {
			names = append(names, strings.TrimSuffix(n, ".dup"))
		}
	}
	return zipOf(t, deflate, names, files)
}

// TestRefuses: a damaged, unexpected or oversized file is refused with
// an error naming the file, the place in it and what is wrong.
func TestRefuses(t *testing.T) {
	ada := adaRepo(t)
	badCBOR := []byte{0xa1, 0x61, 'e', 0x9f} // an indefinite list, cut short
	ref := func(id string) string {
		return `{"following": {"accountId": "` + id + `", "userLink": "https://twitter.com/intent/user?user_id=` + id + `"}}`
	}
	cut := ada.car(t)
	deep := mstNodeOf(t, nil, mstKV{key: "app.bsky.graph.follow/3l", value: follow(t, "not a did", "2026-03-02T09:00:00Z")})
	deepCommit := encode(t, map[string]any{"did": didAda, "version": 3, "data": linkTo(deep), "rev": "3l", "prev": nil, "sig": []byte{1}})
	v2 := carOf(t, nil)
	v2[len(v2)-1] = 2 // the header's version
	for _, c := range []struct {
		name string
		file string
		data []byte
		lim  Limits
		err  error
		want string
	}{
		{"truncated zip", "x.zip", nil, DefaultLimits, ErrFormat, "not a readable zip"},
		{"X archive without account.js", "x.zip", xZip(t, false, map[string][]byte{"data/account.js": nil}), DefaultLimits,
			ErrFormat, "x.zip: no data/account.js with the owner's account"},
		{"X file of another kind", "x.zip", xZip(t, false, map[string][]byte{"data/following.js": jsFile("like", ref("1"))}), DefaultLimits,
			ErrFormat, `entry "data/following.js": starts with "window.YTD.like.part0", not window.YTD.following.partN =`},
		{"X id not a number", "x.zip", xZip(t, true, map[string][]byte{"data/following.js": jsFile("following", ref("1002"), ref("abc"))}), DefaultLimits,
			ErrFormat, `entry "data/following.js", record 2: accountId "abc" is not a number`},
		{"X list of the wrong shape", "x.zip", xZip(t, false, map[string][]byte{"data/following.js": []byte(`window.YTD.following.part0 = {"following": []}`)}), DefaultLimits,
			ErrFormat, `entry "data/following.js": wrong shape: want a list, found an object`},
		{"X record of the wrong shape", "x.zip", xZip(t, false, map[string][]byte{"data/following.js": jsFile("following", `{"following": {"accountId": 1002}}`)}), DefaultLimits,
			ErrFormat, `record 1: wrong shape: following.accountId is a JSON number, where the format has a string`},
		{"X file cut short", "x.zip", xZip(t, true, map[string][]byte{"data/following.js": jsFile("following", ref("1002"))[:60]}), DefaultLimits,
			ErrFormat, `entry "data/following.js", record 1: ends early`},
		{"X file with a tail", "x.zip", xZip(t, false, map[string][]byte{"data/follower.js": append(jsFile("follower"), "alert(1)"...)}), DefaultLimits,
			ErrFormat, `unexpected 'a' after the end of the document`},
		{"X entry twice", "x.zip", xZip(t, false, map[string][]byte{"data/account.js.dup": []byte("x")}), DefaultLimits,
			ErrFormat, `entry "data/account.js": appears twice in the zip`},
		{"X list over the cap", "x.zip", xZip(t, false, map[string][]byte{"data/following.js": jsFile("following", ref("1"), ref("2"), ref("3"), ref("4"))}), small,
			ErrTooLarge, `entry "data/following.js", record 4: more than 3 accounts in one list`},
		{"X archive over the byte cap", "x.zip", xZip(t, true, map[string][]byte{"data/follower.js": jsFile("follower", strings.Repeat(" ", 5000))}), small,
			ErrTooLarge, `entry "data/follower.js": inflates to 5033 bytes, over the cap of 4096`},
		{"zip bomb", "x.zip", xZip(t, true, map[string][]byte{"data/follower.js": jsFile("follower", strings.Repeat(`{"follower": {"accountId": "1"}},`, 1<<18)+`{"follower": {"accountId": "2"}}`)}), DefaultLimits,
			ErrTooLarge, "a zip bomb"},
		{"too many entries", "x.zip", zipOf(t, false, strings.Fields("a b c d e f g h i"), map[string][]byte{}), small,
			ErrTooLarge, "the zip holds 9 entries, more than the cap of 8"},
		{"zip naming a file outside itself", "x.zip", zipOf(t, false, []string{"../data/account.js"}, map[string][]byte{}), DefaultLimits,
			ErrFormat, "the zip names an entry outside itself"},
		{"Instagram export in HTML", "ig.zip", zipOf(t, false, []string{"connections/followers_and_following/following.html"}, map[string][]byte{}), DefaultLimits,
			ErrFormat, "an export in HTML; export again and choose the format JSON"},

		{"truncated CAR", "repo.car", cut[:len(cut)-40], DefaultLimits, ErrFormat, "repo.car: block 10: ends early: the file is cut short"},
		{"CAR block not matching its CID", "repo.car", bytes.Replace(ada.car(t), []byte("Never read"), []byte("Always red"), 1), DefaultLimits,
			ErrFormat, "its bytes do not match its CID"},
		{"bad CBOR", "repo.car", carOf(t, [][]byte{cidOf(ada.commit)}, blockOf(ada.commit), blockOf(badCBOR)), DefaultLimits,
			ErrFormat, "repo.car: block 2 (bafyrei"},
		{"bad CBOR says so", "repo.car", carOf(t, [][]byte{cidOf(ada.commit)}, blockOf(ada.commit), blockOf(badCBOR)), DefaultLimits,
			ErrFormat, "not valid DAG-CBOR"},
		{"CAR without its tree", "repo.car", ada.car(t, ada.leafB), DefaultLimits, ErrFormat, "the tree node bafyrei"},
		{"CAR without a follow record", "repo.car", ada.car(t, ada.records[4]), DefaultLimits, ErrFormat, "is missing or not a follow"},
		{"CAR without its commit", "repo.car", ada.car(t, ada.commit), DefaultLimits, ErrFormat, "named in the header is missing"},
		{"follow of something not a DID", "repo.car", carOf(t, [][]byte{cidOf(deepCommit)}, blockOf(deepCommit), blockOf(deep),
			blockOf(follow(t, "not a did", "2026-03-02T09:00:00Z"))), DefaultLimits, ErrFormat, `a follow whose subject "not a did" is not a DID`},
		{"CAR version 2", "repo.car", v2, DefaultLimits, ErrFormat, "a CAR of version 2"},
		{"CAR over the block cap", "repo.car", ada.car(t), small, ErrTooLarge, "block 9: more than 8 blocks"},
		{"CAR over the byte cap", "repo.car", ada.car(t), Limits{MaxBytes: 1000, MaxEntries: 100, MaxAccounts: 100},
			ErrTooLarge, "more than the cap of 1000 bytes"},

		{"CSV with a wrong header", "f.csv", []byte("Account address,Hide notifications\nada@social.example,true\n"), DefaultLimits,
			ErrFormat, `f.csv: line 1: the header is "Account address,Hide notifications"`},
		{"CSV with a bad address", "f.csv", []byte("Account address,Show boosts\r\nada@social.example,true\r\nhttps://social.example/@ben,true\r\n"), DefaultLimits,
			ErrFormat, `f.csv: line 3: "https://social.example/@ben" is not an address user@domain`},
		{"CSV with a field too many", "f.csv", []byte("Account address,Show boosts\nada@social.example,true\nben@social.example,true,false\n"), DefaultLimits,
			ErrFormat, "f.csv: line 3: wrong number of fields"},
		{"CSV with a bad flag", "f.csv", []byte("Account address,Show boosts\nada@social.example,maybe\n"), DefaultLimits,
			ErrFormat, `line 2: Show boosts is "maybe", not true or false`},
		{"CSV over the cap", "f.csv", []byte("Account address\n" + strings.Repeat("ada@social.example\n", 300)), fewBytes,
			ErrTooLarge, "more than the cap of 4096 bytes"},

		{"JSON of the wrong shape", "f.json", []byte(`{"relationships_close_friends": []}`), DefaultLimits,
			ErrFormat, `f.json: the object holds "relationships_close_friends", not a follow list`},
		{"JSON list of numbers", "f.json", []byte(`[1, 2]`), DefaultLimits,
			ErrFormat, "f.json: record 1: wrong shape: the record is a JSON number, where the format has an object"},
		{"JSON entry without the account", "f.json", []byte(`[{"title": "", "string_list_data": []}]`), DefaultLimits,
			ErrFormat, "f.json: record 1: no string_list_data with the account"},
		{"JSON username with a space", "f.json", []byte(`[{"string_list_data": [{"value": "ada example"}]}]`), DefaultLimits,
			ErrFormat, `record 1: "ada example" is not an Instagram username`},
		{"JSON with a second key", "f.json", []byte(`{"relationships_following": [], "more": 1}`), DefaultLimits,
			ErrFormat, "a second key after the follow list"},
		{"JSON record over 1 MiB", "f.json", []byte(`[{"title": "` + strings.Repeat("a", 2<<20) + `"}]`), DefaultLimits,
			ErrTooLarge, "record 1: one record is larger than 1048576 bytes"},
		{"JSON over the cap", "f.json", []byte(`[` + strings.Repeat(`{"string_list_data": [{"value": "ada"}]},`, 200) + `]`), fewBytes,
			ErrTooLarge, "more than the cap of 4096 bytes"},
		{"neither export nor JSON", "notes.txt", []byte("ada ben\n"), DefaultLimits, ErrUnknown, "notes.txt: not an X archive"},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := c.data
			if data == nil {
				full, err := os.ReadFile("testdata/x-ada-cut.zip")
				if err != nil {
					t.Fatal(err)
				}
				data = full
			}
			path := writeTemp(t, c.file, data)
			ex, err := ReadFile(path, c.lim)
			var fe *Error
			switch {
			case err == nil:
				t.Fatalf("read %+v, want an error", ex)
			case !errors.Is(err, c.err) || !errors.As(err, &fe):
				t.Fatalf("error %v (%T), want an *Error wrapping %v", err, err, c.err)
			case fe.File != path || !strings.Contains(err.Error(), c.want):
				t.Fatalf("error %q, want one naming %s and saying %q", err, path, c.want)
			}
		})
	}
}

// TestXParts: a large list comes split into data/KIND-partN.js, each
// assigned to window.YTD.KIND.partN; the parts make one list.
func TestXParts(t *testing.T) {
	part1 := []byte(`window.YTD.following.part1 = [ {"following": {"accountId": "1010"}} ]`)
	path := writeTemp(t, "x.zip", xZip(t, true, map[string][]byte{"data/following-part1.js": part1}))
	ex, err := ReadFile(path, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if want := ids("1002", "1003", "1004", "1010"); !reflect.DeepEqual(ex.Following, want) {
		t.Errorf("following %v, want %v", ex.Following, want)
	}
}

func TestHandleLabels(t *testing.T) {
	for h, want := range map[string][]string{
		"@Ada_Example":           {"x:ada_example", "ig:ada_example"},
		"ada.example":            {"ig:ada.example"},
		"@ada@Social.Example":    {"fedi:@ada@social.example"},
		"ada@social.example":     {"fedi:@ada@social.example"},
		"did:plc:abc123":         {"bsky:did:plc:abc123"},
		"x:Ada":                  {"x:ada"},
		"bsky:did:plc:abc123":    {"bsky:did:plc:abc123"},
		"fedi:@b@social.example": {"fedi:@b@social.example"},
		"ada.bsky.social":        nil,
		"two words":              nil,
		"":                       nil,
	} {
		if got := HandleLabels(h); !slices.Equal(got, want) {
			t.Errorf("HandleLabels(%q) = %q, want %q", h, got, want)
		}
	}
	ex := &Export{Network: X, Self: Account{Handle: "Ada", ID: "12"}}
	if got := ex.Identities(); !slices.Equal(got, []string{"x:ada", "x:id:12"}) {
		t.Errorf("Identities = %q", got)
	}
	if got := (&Export{Network: Fedi}).Identities(); got != nil {
		t.Errorf("no owner: Identities = %q", got)
	}
}
