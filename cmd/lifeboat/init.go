package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"

	"github.com/spf13/cobra"

	"github.com/lifeboat-social/lifeboat/groups"
)

// starter is the group file `lifeboat init` writes: valid as it stands,
// with comments saying what to change.
var starter = template.Must(template.New("group.yaml").Parse(`# A Lifeboat group file. Edit it, then run: lifeboat check {{.File}}
# Every field is described in docs/group-file.md.
version: 1

# A short name for the group: lower-case letters, digits and '-', 3 to 40.
name: {{.Name}}
title: {{.Title}}
# description: A few words shown on the pledge page.

# How many members must pledge before the group launches: at least 2 and
# at most the number of members below.
viable_mass: 2
# Pledging closes at the end of this day (UTC). Optional.
# deadline: 2027-01-31
# Who else may join, from the group's public page (/join): nobody (closed,
# the default), people you approve (approval), or anyone who confirms
# their email (open). With approval or open, members below may be empty
# (members: []) and viable_mass may exceed it.
# enrolment: open

# You, the group lead.
lead:
  name: Ada Lovelace
  email: ada@example.org

# Where the group goes.
destination:
{{- if .Server}}
  # existing: a server that already runs (one an earlier group moved to);
  # its admin accepts the group.
  type: existing
  server: {{.Server}}
  # local: a real GoToSocial server on this machine, to try the escape.
  # type: local
{{- else}}
  # local: a real GoToSocial server on this machine, to try the escape.
  type: local
  software: gotosocial          # or mastodon
  # existing: a server that already runs; its admin accepts the group.
  # type: existing
  # server: https://social.example
{{- end}}
  # new: a server of the group's own on Hetzner Cloud.
  # type: new
  # domain: social.example.org
  # cloud: hetzner
  # location: fsn1
  # server_type: cx23

# The people to bring. name and email are required; email, handle and
# username must each be unique.
members:
  - name: Ada Lovelace
    email: ada@example.org
    handle: "@ada"              # on the old network; optional
    username: ada               # wanted on the destination; optional
  - name: Grace Hopper
    email: grace@example.org
    handle: "@grace"
  - name: Alan Turing
    email: alan@example.org
`))

func newInitCmd(app *App) *cobra.Command {
	var name, title, server string
	cmd := &cobra.Command{
		Use:   "init [FILE]",
		Short: "Write a starter group file (default group.yaml)",
		Long: `Init writes a commented starter group file that passes lifeboat check. It
never overwrites an existing file. --server starts a group bound for a server
that runs already, such as the one an earlier group moved to (its "made it"
page prints this command).`,
		Example: `  lifeboat init
  lifeboat init river-birders.yaml --title "River Birders"
  lifeboat init next-group.yaml --server https://social.example.org`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageErrorf("init takes at most one FILE, got %d", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			file := "group.yaml"
			if len(args) == 1 {
				file = args[0]
			}
			if name == "" {
				name = defaultGroupName(file)
			} else if !groups.ValidName(name) {
				return usageErrorf("--name %q is not a slug: use lower-case letters, digits and '-', 3 to 40 characters", name)
			}
			if title == "" {
				title = strings.ToUpper(name[:1]) + strings.ReplaceAll(name[1:], "-", " ")
			}
			var b strings.Builder
			if err := starter.Execute(&b, map[string]string{
				"File": file, "Name": name, "Title": strconv.Quote(title), "Server": quoteIf(server),
			}); err != nil {
				return fmt.Errorf("render starter file: %w", err)
			}
			if _, probs := groups.Parse(file, []byte(b.String())); len(probs) > 0 {
				return usageErrorf("cannot write a valid file with these flags:\n%s", probs.Error())
			}
			if err := writeNew(file, []byte(b.String())); err != nil {
				return err
			}
			fmt.Fprintf(app.Stdout, "wrote %s: edit the lead and members, then run lifeboat check %s\n", file, file)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "the group's slug (default: from FILE, else my-group)")
	cmd.Flags().StringVar(&title, "title", "", "the group's display name (default: from the name)")
	cmd.Flags().StringVar(&server, "server", "", "bound for this existing server, e.g. the one an earlier group moved to (https://…)")
	return cmd
}

func quoteIf(s string) string {
	if s == "" {
		return ""
	}
	return strconv.Quote(s)
}

// defaultGroupName is FILE's base name without extension when that is a
// slug, else my-group.
func defaultGroupName(file string) string {
	base := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	if groups.ValidName(base) {
		return base
	}
	return "my-group"
}

// writeNew writes data to path atomically (a temporary file in the same
// folder, then a hard link or rename) with mode 0644, and refuses to
// replace a file that exists.
func writeNew(path string, data []byte) error {
	exists := func() error {
		return usageErrorf("%s already exists; pick another name (lifeboat init other.yaml) or delete it first", path)
	}
	if _, err := os.Lstat(path); err == nil {
		return exists()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".lifeboat-init-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// A hard link never replaces an existing file, so a file created
	// since the check above is safe; fall back to rename where links are
	// not supported.
	err = os.Link(tmp.Name(), path)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrExist):
		return exists()
	}
	if _, err := os.Lstat(path); err == nil {
		return exists()
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
