package destination

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lifeboat-social/lifeboat/groups"
)

// URL is the destination's address as Lifeboat knows it without asking
// anyone: the group file's for an existing or a new server, the config of
// the local server's last start, "" before that; without a state
// directory the local one is not guessed.
func TestURL(t *testing.T) {
	state := t.TempDir()
	for _, c := range []struct {
		d    groups.Destination
		want string
	}{
		{groups.Destination{Type: groups.DestExisting, Server: "https://social.example/"}, "https://social.example"},
		{groups.Destination{Type: groups.DestNew, Domain: "birds.example.org"}, "https://birds.example.org"},
		{groups.Destination{Type: groups.DestLocal}, ""},
	} {
		if got, err := URL(state, group(c.d)); err != nil || got != c.want {
			t.Errorf("%+v: %q, %v; want %q", c.d, got, err, c.want)
		}
	}
	dir := LocalDir(state, "river-birders")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// what the local server's start writes (local.writeConfig)
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(`{"host": "127.0.0.1:40103", "protocol": "http", "port": 40103}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := URL(state, group(groups.Destination{Type: groups.DestLocal})); err != nil || got != "http://127.0.0.1:40103" {
		t.Errorf("local after a start: %q, %v", got, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(`{"host": "room.lifeboat.test", "protocol": "https"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := URL(state, group(groups.Destination{Type: groups.DestLocal})); err != nil || got != "https://room.lifeboat.test" {
		t.Errorf("local on a federating net: %q, %v", got, err)
	}
	if _, err := URL("", group(groups.Destination{Type: groups.DestLocal})); err == nil {
		t.Error("no state directory: a local address was guessed")
	}
}
