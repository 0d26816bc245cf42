package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUpRefusesReplacingServer: once the group's own server is made, an up
// whose settings cannot change in place (a new location) would make
// Terraform delete the server, with every account on it, and make an
// empty one. Against the fake Hetzner API with real Terraform: up refuses
// with exit 2, says what and why, changes nothing in the cloud or in the
// variables; with the settings put back, up goes on as before.
func TestUpRefusesReplacingServer(t *testing.T) {
	f := fakeHetzner(t)
	state := t.TempDir()
	file := writeSharedGroup(t, sharedGroup)
	args := []string{"up", file, "--ssh-from", "203.0.113.7", "--poll-interval", "50ms"}
	if _, errs, code := lb(t, state, args...); code != 0 {
		t.Fatalf("up: exit %d: %s", code, errs)
	}
	before := f.Servers()
	vars := filepath.Join(state, "groups", "valley-cyclists", "hetzner", "vars.tfvars.json")
	varsBefore, err := os.ReadFile(vars)
	if len(before) != 1 || err != nil {
		t.Fatalf("the server: %+v %v", before, err)
	}
	counts := fmt.Sprint(f.Counts())
	writes := func() (n int) {
		for _, c := range f.Calls() {
			if !strings.HasPrefix(c, "GET ") {
				n++
			}
		}
		return n
	}
	w := writes()

	if err := os.WriteFile(file, []byte(strings.Replace(sharedGroup, "location: fsn1", "location: nbg1", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errs, code := lb(t, state, args...)
	for _, want := range []string{
		"up would replace the group's server (location cannot change in place)",
		"every account on it would be lost. Nothing was changed.",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("up with a new location lacks %q:\n%s", want, errs)
		}
	}
	after := f.Servers()
	if code != 2 || writes() != w || fmt.Sprint(f.Counts()) != counts || len(after) != 1 || after[0].ID != before[0].ID || after[0].Location.Name != "fsn1" {
		t.Errorf("up with a new location: exit %d, %d calls that write, servers %+v", code, writes()-w, after)
	}
	if b, _ := os.ReadFile(vars); string(b) != string(varsBefore) {
		t.Error("the refused up left the variables changed")
	}

	if err := os.WriteFile(file, []byte(sharedGroup), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := lb(t, state, args...); code != 0 || writes() != w {
		t.Fatalf("up as it was: exit %d, %d calls that write: %s", code, writes()-w, errs)
	}
	if after := f.Servers(); len(after) != 1 || after[0].ID != before[0].ID {
		t.Errorf("up as it was: servers %+v", after)
	}
}
