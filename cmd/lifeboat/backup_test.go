package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBackupBadInput: backup and restore refuse what the lead must fix
// with exit code 2 and a message that says what to do, before anything
// reaches a server or a repository.
func TestBackupBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, dest string) string {
		p := filepath.Join(dir, name)
		body := "version: 1\nname: valley-cyclists\ntitle: Valley Cyclists\nviable_mass: 2\nlead: {name: Quinn, email: quinn@example.org}\n" +
			"destination: " + dest + "\nmembers:\n  - {name: Quinn, email: quinn@example.org}\n  - {name: Rosa, email: rosa@example.org}\n"
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	gts := write("new.yaml", "{type: new, domain: social.valley-cyclists.example, cloud: hetzner, location: fsn1, server_type: cx23}")
	mastodon := write("mastodon.yaml", "{type: new, software: mastodon, domain: social.valley-cyclists.example, cloud: hetzner, location: fsn1, server_type: cx33}")
	localGroup := write("local.yaml", "{type: local}")
	loose := filepath.Join(dir, "loose-password")
	os.WriteFile(loose, []byte("secret\n"), 0o644)
	t.Setenv("HCLOUD_TOKEN", "")
	t.Setenv(envBackupRepo, "")
	t.Setenv(envBackupPasswordFile, "")
	for _, c := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no group file", []string{"backup"}, nil, "backup needs one group file"},
		{"local destination", []string{"backup", localGroup, "--to", dir}, nil, "cover a new GoToSocial server on Hetzner"},
		{"mastodon", []string{"restore", mastodon, "--from", dir}, nil, "cover a new GoToSocial server on Hetzner"},
		{"nowhere to go", []string{"backup", gts}, nil, "pass --to PATH or --to s3:https://"},
		{"another backend", []string{"backup", gts, "--to", "sftp:u@host:/srv"}, nil, "only local paths and S3-compatible buckets"},
		{"plain http bucket", []string{"restore", gts, "--from", "s3:http://objects.example.org/b"}, nil, "over https"},
		{"from the environment", []string{"backup", gts}, map[string]string{envBackupRepo: "b2:bucket"}, "only local paths and S3-compatible buckets"},
		{"loose password file", []string{"backup", gts, "--to", dir}, map[string]string{envBackupPasswordFile: loose}, "chmod 600"},
		{"no server yet", []string{"backup", gts, "--to", filepath.Join(dir, "repo")}, nil, "run lifeboat up"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			var out, errb bytes.Buffer
			app := &App{Stdout: &out, Stderr: &errb, StateDir: filepath.Join(dir, "state")}
			code := runApp(context.Background(), app, c.args)
			app.Close()
			if code != 2 || !strings.Contains(errb.String(), c.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, errb.String(), c.want)
			}
			if out.Len() > 0 {
				t.Fatalf("stdout: %q", out.String())
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "repo")); err == nil {
		t.Fatal("a repository was made for a group with no server")
	}
}
