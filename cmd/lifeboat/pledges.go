package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lifeboat-social/lifeboat/escape/arrival"
	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/safetext"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/lead"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/provision/destination"
	"github.com/lifeboat-social/lifeboat/web"
)

func newPledgesCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pledges",
		Short: "Collect pledges: send pledge links, see the count, launch by hand",
	}
	cmd.AddCommand(newPledgesOpenCmd(app), newPledgesStatusCmd(app), newPledgesLaunchCmd(app), newPledgesExportCmd(app))
	return cmd
}

func newPledgesOpenCmd(app *App) *cobra.Command {
	var f webFlags
	cmd := &cobra.Command{
		Use:   "open GROUP.yaml",
		Short: "Mail every member their personal pledge link",
		Long: `Open mails every member of the group a personal link to their pledge page on
the group's web server (--base-url, where "lifeboat serve" runs). Each mail is
journaled: running open again sends only the mails not sent yet, e.g. to
members added to the group file since.`,
		Example: `  LIFEBOAT_SMTP_PASSWORD=… lifeboat pledges open group.yaml --base-url https://lifeboat.example.org \
      --smtp-addr smtp.example.org:587 --smtp-user lifeboat --smtp-from lifeboat@example.org`,
		Args: exactlyOneGroupFile,
		RunE: func(cmd *cobra.Command, args []string) error {
			srv, err := pledgeLinkServer(cmd.Context(), app, args[0], &f)
			if err != nil {
				return err
			}
			n, err := srv.OpenPledges(cmd.Context())
			fmt.Fprintf(app.Stdout, "sent %d pledge %s\n", n, pluralWord(n, "link", "links"))
			return err
		},
	}
	f.register(cmd, true)
	return cmd
}

// pledgeStatus is `pledges status --json`.
type pledgeStatus struct {
	Group   string `json:"group"`
	State   string `json:"state"`
	Members int    `json:"members"`
	// Enrolled is everyone listed in the file or who joined from the join
	// page, confirmed or not; Confirmed those who confirmed their email.
	Enrolled      int    `json:"enrolled"`
	Confirmed     int    `json:"confirmed"`
	ViableMass    int    `json:"viable_mass"`
	Pledged       int    `json:"pledged"`
	Unconfirmed   int    `json:"unconfirmed"`
	Going         int    `json:"going"`
	Waiting       int    `json:"waiting"`
	Viable        bool   `json:"viable"`
	NeedForViable int    `json:"need_for_viable"`
	Summary       string `json:"summary"`
	// DestinationReady says whether the group may launch onto its
	// destination now; DestinationMissing names the step missing.
	DestinationReady   bool   `json:"destination_ready"`
	DestinationMissing string `json:"destination_missing"`
	// AdmissionMissing counts the people on the roster whom the group's
	// accepted admission request to an existing server (with its
	// amendments) does not admit, AdmissionGone those it admits who left;
	// AdmissionNote says how to mend it ("" when nothing is amiss).
	AdmissionMissing int    `json:"admission_missing"`
	AdmissionGone    int    `json:"admission_gone"`
	AdmissionNote    string `json:"admission_note,omitempty"`
	// RemoteMembers counts the people on the roster who keep their own
	// accounts on other servers than the destination; RemotePledged and
	// RemoteGoing those of them who pledged and who would go. They are in
	// every other count too.
	RemoteMembers int `json:"remote_members"`
	RemotePledged int `json:"remote_pledged"`
	RemoteGoing   int `json:"remote_going"`
	// MeshDays is how many of the server's daily follow windows the
	// mesh of the going members needs (Mastodon: 400 follows a day per
	// account); MeshPlan says it in a sentence.
	MeshDays int    `json:"mesh_days"`
	MeshPlan string `json:"mesh_plan"`
	// Retention is, for each member with follows imported, how many of
	// the people they follow are in the launch set, in the group file's
	// order.
	Retention []memberRetention `json:"retention"`
}

// memberRetention is one member's line of Retention: "34 of the 80
// people you follow are going".
type memberRetention struct {
	Email   string `json:"email"`
	Going   int    `json:"going"`
	Follows int    `json:"follows"`
	// InLaunchSet: the member is in the launch set themselves.
	InLaunchSet bool `json:"in_launch_set"`
}

func newPledgesStatusCmd(app *App) *cobra.Command {
	var (
		f      webFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "status GROUP.yaml",
		Short: "Show the pledges and who would go now (the threshold cascade)",
		Example: `  lifeboat pledges status group.yaml
  lifeboat pledges status group.yaml --json`,
		Args: exactlyOneGroupFile,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.baseURL == "" {
				f.baseURL = "http://127.0.0.1" // links are not printed
			}
			g, probs := groups.Load(args[0])
			if len(probs) > 0 {
				return reportProblems(app, probs)
			}
			srv, err := groupServerFor(cmd.Context(), app, g, args[0], &f, web.Config{})
			if err != nil {
				return err
			}
			st, err := srv.Status(cmd.Context())
			if err != nil {
				return err
			}
			ready, err := srv.Readiness(cmd.Context())
			if err != nil {
				return err
			}
			kept, err := srv.Retention(cmd.Context(), st)
			if err != nil {
				return err
			}
			lst, err := app.Store(cmd.Context())
			if err != nil {
				return err
			}
			drift, err := (&lead.Desk{Store: lst, StateDir: app.StateDir}).RequestDrift(cmd.Context(), g)
			if err != nil {
				return err
			}
			dest, err := destination.URL(app.StateDir, g)
			if err != nil {
				return err
			}
			remote, err := campaign.ReadElsewhere(cmd.Context(), lst, g, dest, st)
			if err != nil {
				return err
			}
			o := st.Outlook
			out := pledgeStatus{RemoteMembers: remote.Members, RemotePledged: remote.Pledged, RemoteGoing: remote.Going,
				Group: srv.GroupName(), State: st.State, Members: o.Members, Enrolled: st.Enrolled, Confirmed: st.Confirmed, ViableMass: o.ViableMass,
				Pledged: o.Pledged, Unconfirmed: st.Unconfirmed, Going: o.Going, Waiting: o.Waiting, Viable: o.Viable,
				NeedForViable: o.NeedForViable, Summary: o.String(),
				DestinationReady: ready.Ready, DestinationMissing: ready.Missing, Retention: []memberRetention{},
				AdmissionMissing: len(drift.Missing), AdmissionGone: drift.Gone, AdmissionNote: lead.DriftNote(drift, args[0])}
			for _, m := range srv.Members() {
				email := strings.ToLower(m.Email)
				if k, ok := kept[email]; ok {
					out.Retention = append(out.Retention, memberRetention{Email: email, Going: k.Going, Follows: k.Follows, InLaunchSet: st.Going[email]})
				}
			}
			size := o.Going
			if size == 0 {
				size = max(o.Members, o.ViableMass)
			}
			plan := arrival.PlanMesh(size, g.Destination.SoftwareOrDefault())
			out.MeshDays, out.MeshPlan = plan.Days, plan.Sentence
			if asJSON {
				enc := json.NewEncoder(app.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			fmt.Fprintf(app.Stdout, "%s: %s\n  %d enrolled, %d confirmed their email\n  %d of %d members pledged (%d unconfirmed); %s; %d needed\n",
				out.Group, out.State, out.Enrolled, out.Confirmed, out.Pledged, out.Members, out.Unconfirmed, out.Summary, out.ViableMass)
			if out.RemoteMembers > 0 {
				fmt.Fprintf(app.Stdout, "  %d %s their own %s on other servers (%d pledged, %d going)\n", out.RemoteMembers,
					pluralWord(out.RemoteMembers, "member keeps", "members keep"), pluralWord(out.RemoteMembers, "account", "accounts"),
					out.RemotePledged, out.RemoteGoing)
			}
			if !out.DestinationReady {
				fmt.Fprintf(app.Stdout, "  destination not ready: %s\n", safetext.Line(out.DestinationMissing))
			}
			if out.AdmissionNote != "" {
				fmt.Fprintf(app.Stdout, "  admission: %s\n", safetext.Line(out.AdmissionNote))
			}
			for _, r := range out.Retention {
				in := "waiting"
				if r.InLaunchSet {
					in = "going"
				}
				fmt.Fprintf(app.Stdout, "  %s (%s): %d of the %d people they follow are going\n", safetext.Line(r.Email), in, r.Going, r.Follows)
			}
			fmt.Fprintf(app.Stdout, "  mesh: %s\n", out.MeshPlan)
			switch {
			case out.Viable && out.DestinationReady:
				fmt.Fprintln(app.Stdout, "  viable: the group launches (serve does it at once)")
			case out.Viable:
				fmt.Fprintln(app.Stdout, "  viable: the group launches as soon as the destination is ready")
			case out.NeedForViable > 0:
				fmt.Fprintf(app.Stdout, "  %d more %s would make it viable\n", out.NeedForViable, pluralWord(out.NeedForViable, "pledge", "pledges"))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status as one JSON object")
	return cmd
}

func newPledgesLaunchCmd(app *App) *cobra.Command {
	var f webFlags
	cmd := &cobra.Command{
		Use:   "launch GROUP.yaml",
		Short: "Launch now, by hand: mail every going member their invite",
		Long: `Launch launches the group now, even below viable mass: every member the
threshold cascade says would go gets a personal invite by email, once. "serve"
launches by itself as soon as the group is viable; this is the lead's
override. It happens once, however many processes try. It refuses while the
destination is not ready (an existing server whose admin has not accepted the
group, a new server before "lifeboat up" has finished, a local server that is
not running), naming the step that is missing.`,
		Example: `  LIFEBOAT_SMTP_PASSWORD=… lifeboat pledges launch group.yaml --base-url https://lifeboat.example.org`,
		Args:    exactlyOneGroupFile,
		RunE: func(cmd *cobra.Command, args []string) error {
			mail, mailErr := f.mail.sender(app, true)
			if mailErr != nil {
				mail = nil // checked below, once readiness has been
			}
			log := slog.New(slog.NewTextHandler(app.Stderr, nil))
			srv, err := groupServer(cmd.Context(), app, args[0], &f, web.Config{Mail: mail, Log: log})
			if err != nil {
				return err
			}
			// A destination that is not ready is the first thing to fix:
			// say so before asking for a mail relay.
			if ready, err := srv.Readiness(cmd.Context()); err != nil {
				return err
			} else if !ready.Ready {
				return fmt.Errorf("cannot launch yet: %s", ready.Missing)
			}
			if mailErr != nil {
				return mailErr
			}
			err = srv.Launch(cmd.Context(), true)
			var nr *campaign.NotReadyError
			if errors.As(err, &nr) {
				return fmt.Errorf("cannot launch yet: %s", nr.Missing)
			}
			if errors.Is(err, campaign.ErrNotGathering) {
				// Launched before, perhaps by a launch killed while
				// mailing: finish sending what it did not.
				switch err := srv.FinishLaunch(cmd.Context()); {
				case errors.Is(err, campaign.ErrNotGathering):
					return usageErrorf("the group has failed or is not gathering: nothing to launch")
				case err != nil:
					return err
				}
				fmt.Fprintln(app.Stdout, "already launched: every invite not yet sent has been sent now (one being sent when a launch was stopped goes out within two minutes, from serve or the next launch)")
				return nil
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(app.Stdout, "launched: invites sent")
			return nil
		},
	}
	f.register(cmd, true)
	return cmd
}

func newPledgesExportCmd(app *App) *cobra.Command {
	var (
		f   webFlags
		out exportFlags
	)
	cmd := &cobra.Command{
		Use:   "export GROUP.yaml",
		Short: "Write the pledge links as CSV and as a printable sheet with QR codes",
		Long: `Export writes every member's personal pledge link, the links "pledges open"
mails, for a lead without a mail relay: as CSV (name, email, link, expires; to
stdout or --csv FILE) and as a printable HTML sheet with a QR code per member
(--sheet FILE). Each link opens its member's own pledge page: hand each one to
its member only. The files are written 0600.`,
		Example: `  lifeboat pledges export group.yaml --base-url https://lifeboat.example.org --csv pledges.csv --sheet pledges.html`,
		Args:    exactlyOneGroupFile,
		RunE: func(cmd *cobra.Command, args []string) error {
			srv, err := groupServer(cmd.Context(), app, args[0], &f, web.Config{})
			if err != nil {
				return err
			}
			links, err := srv.PledgeLinks()
			if err != nil {
				return err
			}
			if err := out.write(app, web.PledgeSheet, srv.GroupTitle(), links); err != nil {
				return err
			}
			fmt.Fprintf(app.Stderr, "%d pledge %s\n", len(links), pluralWord(len(links), "link", "links"))
			return nil
		},
	}
	f.register(cmd, false)
	out.register(cmd)
	return cmd
}

// destinationReady is the readiness check of the group's destination
// (destination.Ready).
func destinationReady(app *App, st store.Store, g *groups.Group, file string) provision.Readiness {
	return destination.Ready(app.StateDir, st, g, file)
}

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
