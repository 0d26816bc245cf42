package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/lifeboat-social/lifeboat/escape"
	"github.com/lifeboat-social/lifeboat/escape/arrival"
	"github.com/lifeboat-social/lifeboat/examples"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/safetext"
	"github.com/lifeboat-social/lifeboat/lead"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/tui"
)

func newDemoCmd(app *App) *cobra.Command {
	var (
		members int
		file    string
		asJSON  bool
		stop    bool
		workers int
		destTo  string
		remote  int
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole escape on a local GoToSocial server",
		Long: `Demo runs a whole escape on this machine: it starts a real GoToSocial server
on loopback (built once and cached), every member of the demo group pledges,
the group launches, each member redeems a personal invite, gets an account
and signs in, and Lifeboat seeds the follows both ways, a list of the group on
every account and the lead's welcome post.

The server keeps running afterwards so you can look around; the members'
logins are in a 0600 file whose path is printed. Run it again and nothing is
done twice; "lifeboat demo --stop" stops the server.

With --remote-members K, K of the members already have accounts on a second
local GoToSocial that federates with the first over HTTPS (both on a private
network of this machine, with certificates from a local CA). They join from
there: the group follows them across servers and they follow the group, and
the counts are read back from both servers.`,
		Example: `  lifeboat demo                  # the 12-member example group
  lifeboat demo --members 100    # a generated group of 100
  lifeboat demo --json           # one JSON object with the counts, last on stdout
  lifeboat demo --members 8 --remote-members 3   # 3 members keep accounts on a second server
  lifeboat demo --stop           # stop the demo server
  lifeboat demo --destination existing --json   # someone else's server, approval mode`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			switch {
			case destTo == "existing" && file != "":
				return usageErrorf("--destination existing runs a generated group: use --members, not --group")
			case remote < 0:
				return usageErrorf("--remote-members must be 0 or more, not %d", remote)
			case remote > 0 && destTo != "local":
				return usageErrorf("--remote-members runs on the local destination: leave out --destination %s", destTo)
			case destTo == "existing":
				return runExistingDemo(ctx, app, members, asJSON, stop)
			case destTo != "local":
				return usageErrorf("--destination is local or existing, not %q", destTo)
			}
			g, err := demoGroup(file, members)
			if err != nil {
				return err
			}
			if remote > len(g.Members) {
				return usageErrorf("--remote-members %d is more than the group's %d members", remote, len(g.Members))
			}
			if remote > 0 {
				remoteGroup(g, remote)
			}
			flags := demoFlags(file, members, remote)
			dir, err := app.GroupDir(g.Name)
			if err != nil {
				return err
			}
			if stop {
				return stopDemo(ctx, app, g.Name, file != "" || members > 0 || remote > 0)
			}
			st, err := app.Store(ctx)
			if err != nil {
				return err
			}
			logins, err := openLogins(dir)
			if err != nil {
				return err
			}
			var (
				dest provision.Destination
				rd   *remoteDemo
				hc   *http.Client
			)
			if remote > 0 {
				if rd, err = newRemoteDemo(app, g, remote); err != nil {
					return err
				}
				dest, hc = rd.room, rd.hc
				defer rd.stop(ctx)
			} else {
				if dest, err = app.destination(ctx, g); err != nil {
					return err
				}
				defer dest.Stop(ctx)
			}
			run := func(ctx context.Context, emit progress.Func) (escape.Report, error) {
				if rd != nil {
					if err := rd.arrive(ctx, st, g, logins, emit); err != nil {
						return escape.Report{}, err
					}
				}
				x := escape.New(escape.Config{Store: st, Group: g, Dest: dest, Workers: workers, Emit: emit, Logins: logins, Demo: true,
					HTTPClient: hc})
				rep, err := x.Run(ctx, "local")
				if err == nil && rd != nil {
					err = rd.readBack(ctx, st, g, x.ListTitle(), &rep)
				}
				return rep, err
			}
			var rep escape.Report
			if !asJSON && app.Stdout == os.Stdout && isTerminal(os.Stdout) && isTerminal(os.Stdin) {
				// a terminal: the arrivals screen, fed from the same events
				rep, err = tui.RunArrivals(ctx, tui.Deps{Desk: &lead.Desk{Store: st}, StateDir: app.StateDir}, g, nil, nil, run)
			} else {
				rep, err = run(ctx, progress.Plain(app.Stderr, time.Second))
			}
			if errors.Is(err, arrival.ErrPasswordLost) {
				return fmt.Errorf("%w\nThe demo server keeps accounts that Lifeboat's state no longer knows (was its database deleted?).\n"+
					"Stop it with \"lifeboat demo --stop%s\", then restore the database, or start over in a new state\n"+
					"directory (LIFEBOAT_STATE=DIR) and remove %s", err, flags, dir)
			}
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(app.Stdout)
				return enc.Encode(rep)
			}
			fmt.Fprintf(app.Stdout, `
%s has arrived on %s
  %d members, %d accounts, %d follows seeded, %d lists, %d welcome post
  took %.1fs
`, safetext.Line(g.Title), rep.Server, rep.Members, rep.AccountsCreated, rep.FollowsSeeded, rep.ListsCreated, rep.Welcomes, rep.DurationS)
			if rd != nil {
				fmt.Fprintf(app.Stdout, `  %d members kept their accounts on %s; the counts were read back from both servers.
  Both servers answer on this machine's private network only: Lifeboat reaches them,
  a browser would need the names in %s and the CA in %s.
`, rep.RemoteMembers, rd.homeURL, rd.hostsFile(), rd.caFile())
			}
			fmt.Fprintf(app.Stdout, `
The server keeps running. Log in at %s with any member's email and the
password in %s (readable only by you).
Run "lifeboat demo" again: nothing is done twice. Stop the server with:
  lifeboat demo --stop%s
`, rep.Server, logins.Path(), flags)
			return nil
		},
	}
	cmd.Flags().IntVar(&members, "members", 0, "generate a group of this many members instead of the example group")
	cmd.Flags().StringVar(&file, "group", "", "use this group file (destination must be local)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object with the counts last on stdout")
	cmd.Flags().BoolVar(&stop, "stop", false, "stop the demo server and exit")
	cmd.Flags().StringVar(&destTo, "destination", "local", "local, or existing: the escape onto a GoToSocial run as someone else's server (approval mode)")
	cmd.Flags().IntVar(&remote, "remote-members", 0, "this many members keep accounts on a second local server that federates with the first")
	cmd.Flags().IntVar(&workers, "workers", 0, "concurrent requests to the server (0: what the server takes well)")
	return cmd
}

func demoFlags(file string, members, remote int) string {
	var f string
	switch {
	case file != "":
		f = " --group " + file
	case members > 0:
		f = fmt.Sprintf(" --members %d", members)
	}
	if remote > 0 {
		f += fmt.Sprintf(" --remote-members %d", remote)
	}
	return f
}

// demoGroup is the example group, a group file, or a generated group.
func demoGroup(file string, members int) (*groups.Group, error) {
	switch {
	case file != "" && members > 0:
		return nil, usageErrorf("use --group or --members, not both")
	case members > 0:
		if members < 2 || members > 2000 {
			return nil, usageErrorf("--members must be between 2 and 2000")
		}
		return generatedGroup(members), nil
	case file != "":
		g, probs := groups.Load(file)
		if len(probs) > 0 {
			return nil, usageErr(probs)
		}
		if g.Destination.Type != groups.DestLocal {
			return nil, usageErrorf("%s: the demo runs on the local destination; set destination.type: local", file)
		}
		return g, nil
	}
	b, err := examples.Files.ReadFile(examples.Demo)
	if err != nil {
		return nil, err
	}
	g, probs := groups.Parse(examples.Demo, b)
	if len(probs) > 0 {
		return nil, probs
	}
	return g, nil
}

func generatedGroup(n int) *groups.Group {
	g := &groups.Group{
		Version: 1, Name: fmt.Sprintf("demo-%d", n), Title: fmt.Sprintf("Demo group of %d", n),
		ViableMass:  n,
		Lead:        groups.Person{Name: "Member 1", Email: "member1@example.org"},
		Destination: groups.Destination{Type: groups.DestLocal, Software: "gotosocial"},
	}
	for i := 1; i <= n; i++ {
		g.Members = append(g.Members, groups.Member{
			Name: fmt.Sprintf("Member %d", i), Email: fmt.Sprintf("member%d@example.org", i),
			Username: fmt.Sprintf("member%d", i),
		})
	}
	return g
}

// openLogins opens the group's logins.csv: the passwords the demo makes
// for its members are kept there (0600) and nowhere else, not in the
// store, so the lead can log in as any member.
func openLogins(groupDir string) (*arrival.LoginsFile, error) {
	return arrival.OpenLogins(filepath.Join(groupDir, "logins.csv"))
}
