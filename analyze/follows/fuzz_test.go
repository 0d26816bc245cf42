package follows

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

// fuzzLimits keep each fuzz run small.
var fuzzLimits = Limits{MaxBytes: 1 << 20, MaxEntries: 1000, MaxAccounts: 1000}

// checkRead holds every importer to its promise, whatever the input: an
// *Error naming the file and wrapping ErrFormat or ErrTooLarge, or an
// export within the limits whose every label is one edge-list field.
func checkRead(t *testing.T, ex *Export, err error) {
	t.Helper()
	if err != nil {
		var fe *Error
		if !errors.As(err, &fe) || fe.File != "fuzz" || !(errors.Is(err, ErrFormat) || errors.Is(err, ErrTooLarge)) {
			t.Fatalf("error %v (%T) is not an *Error about the file", err, err)
		}
		return
	}
	if len(ex.Following) > fuzzLimits.MaxAccounts || len(ex.Followers) > fuzzLimits.MaxAccounts {
		t.Fatalf("%d following, %d followers: over the cap", len(ex.Following), len(ex.Followers))
	}
	accounts := append(append([]Account{}, ex.Following...), ex.Followers...)
	if ex.Self != (Account{}) {
		accounts = append(accounts, ex.Self)
	}
	for _, a := range accounts {
		if l := Label(ex.Network, a); !plain(l, 256) {
			t.Fatalf("label %q is not one edge-list field", l)
		}
	}
}

// readArchive reads data as a zip with one of the zip importers, so
// that each is fuzzed on its own.
func readArchive(data []byte, read func(*archive) (*Export, error)) (*Export, error) {
	a, err := openArchive("fuzz", bytes.NewReader(data), int64(len(data)), fuzzLimits)
	if err != nil {
		return nil, err
	}
	return read(a)
}

func seed(f *testing.F, files ...string) {
	for _, name := range files {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

func FuzzX(f *testing.F) {
	seed(f, "x-ada.zip", "x-ben.zip", "x-ada-cut.zip")
	f.Add(xZipFuzzSeed(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		ex, err := readArchive(data, readX)
		checkRead(t, ex, err)
	})
}

// xZipFuzzSeed is a deflated archive, so that the fuzzer starts from
// compressed entries too.
func xZipFuzzSeed(f *testing.F) []byte {
	return zipOf(f, true, []string{"data/account.js", "data/following.js"}, map[string][]byte{
		"data/account.js":   jsFile("account", `{"account": {"username": "ada_example", "accountId": "1001"}}`),
		"data/following.js": jsFile("following", `{"following": {"accountId": "1002"}}`),
	})
}

func FuzzBluesky(f *testing.F) {
	seed(f, "bsky-ada.car")
	ada := adaRepo(f)
	f.Add(ada.car(f, ada.leafB))
	f.Fuzz(func(t *testing.T, data []byte) {
		ex, err := ReadBluesky("fuzz", bytes.NewReader(data), fuzzLimits)
		checkRead(t, ex, err)
	})
}

func FuzzFediCSV(f *testing.F) {
	seed(f, "following_accounts.csv", "gts-following.csv", "gts-followers.csv")
	f.Add([]byte("Account address,Show boosts\n\"ada@social.example\",\"tr\"\"ue\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ex, err := ReadFediCSV("fuzz", bytes.NewReader(data), fuzzLimits)
		checkRead(t, ex, err)
	})
}

func FuzzMetaJSON(f *testing.F) {
	seed(f, "threads-following.json", "instagram-eve/connections/followers_and_following/following.json",
		"instagram-eve/connections/followers_and_following/followers_1.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		ex, err := ReadMetaJSON("fuzz", bytes.NewReader(data), fuzzLimits)
		checkRead(t, ex, err)
	})
}

func FuzzMetaZip(f *testing.F) {
	seed(f, "instagram-eve.zip")
	f.Fuzz(func(t *testing.T, data []byte) {
		ex, err := readArchive(data, readMetaZip)
		checkRead(t, ex, err)
	})
}
