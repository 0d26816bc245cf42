package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/provision/hetzner"
)

func newPlanCmd(app *App) *cobra.Command {
	var f hetznerFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "plan GROUP.yaml",
		Short: "Show what up would create on Hetzner Cloud and what it costs",
		Long: `Plan checks the token, location, server type and image against the
Hetzner Cloud API, prices the server, its backups, addresses and volume from
the API's own prices (VAT included, per month and per member), and runs
terraform plan on the embedded module to list what will be created.
Nothing is created.`,
		Example: `  lifeboat plan group.yaml
  lifeboat plan group.yaml --volume 50 --json`,
		Args: hetznerArgs("plan"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cfg, err := hetznerSetup(ctx, app, args[0], f)
			if err != nil {
				return err
			}
			plan, err := hetzner.New(cfg).Plan(ctx, progress.Plain(app.Stderr, 0))
			if err != nil {
				return hetznerErr(err)
			}
			if asJSON {
				return hetznerJSON(app.Stdout, plan)
			}
			printHetznerPlan(app.Stdout, plan)
			return nil
		},
	}
	f.register(cmd, false)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the plan as JSON on stdout")
	return cmd
}

func printHetznerPlan(w io.Writer, p hetzner.Plan) {
	fmt.Fprintf(w, "Plan for %s on Hetzner Cloud\n", p.Group)
	row := func(k, v string) { fmt.Fprintf(w, "  %-10s %s\n", k, v) }
	row("software", p.Software)
	row("domain", p.Domain)
	if p.OnHome != nil {
		printOnHomePlan(w, p, row)
		return
	}
	row("location", p.Location)
	st := p.ServerType
	row("server", fmt.Sprintf("%s: %d vCPU, %g GB RAM, %d GB disk (%s)", st.Name, st.Cores, st.MemoryGB, st.DiskGB, st.Architecture))
	row("image", p.Image)
	row("backups", map[bool]string{true: "on", false: "off"}[p.Backups])
	if p.VolumeGB > 0 {
		row("volume", fmt.Sprintf("%d GB", p.VolumeGB))
	} else {
		row("volume", "none")
	}
	if len(p.SSHFrom) > 0 {
		row("ssh from", strings.Join(p.SSHFrom, ", "))
	}
	printChanges(w, p.Resources)
	fmt.Fprintln(w)
	printCost(w, p.Cost)
	fmt.Fprintf(w, "  %-22s %8.2f\n", fmt.Sprintf("per member (%d)", p.Members), p.Cost.PerMember)
	for _, warn := range p.Warnings {
		fmt.Fprintf(w, "\nwarning: %s", warn)
	}
	if len(p.Warnings) > 0 {
		fmt.Fprintln(w)
	}
}

// printCost prints a monthly cost line by line, with its total.
func printCost(w io.Writer, c hetzner.Cost) {
	fmt.Fprintf(w, "Monthly cost (%s, incl. %s%% VAT):\n", c.Currency, c.VATRate)
	for _, l := range c.Lines {
		fmt.Fprintf(w, "  %-22s %8.2f\n", l.Item, l.Monthly)
	}
	fmt.Fprintf(w, "  %-22s %8.2f\n", "total", c.Monthly)
}

// printChanges lists what Terraform will create, change or destroy.
func printChanges(w io.Writer, cs []hetzner.Change) {
	if len(cs) == 0 {
		return
	}
	fmt.Fprintln(w, "\nTerraform will:")
	for _, c := range cs {
		if len(c.Forces) > 0 {
			fmt.Fprintf(w, "  %-8s %s (%s cannot change in place)\n", c.Action, c.Address, strings.Join(c.Forces, ", "))
			continue
		}
		fmt.Fprintf(w, "  %-8s %s\n", c.Action, c.Address)
	}
}

// printOnHomePlan prints a plan that puts the group's server on the
// campaign home's machine: that machine, whether it holds both, and the
// one machine's monthly cost.
func printOnHomePlan(w io.Writer, p hetzner.Plan, row func(k, v string)) {
	o, st := p.OnHome, p.ServerType
	row("on", fmt.Sprintf("the campaign home %s (https://%s) in %s", o.Server, o.Domain, p.Location))
	row("server", fmt.Sprintf("%s: %d vCPU, %g GB RAM, %d GB disk (%s), the home's", st.Name, st.Cores, st.MemoryGB, st.DiskGB, st.Architecture))
	fmt.Fprintln(w, "\nGoToSocial goes on the home's machine, behind its Caddy (installed over SSH):")
	fmt.Fprintln(w, "no second server is made. lifeboat up --own-server makes one instead.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "One machine for both, the home's:")
	printCost(w, p.Cost)
	fmt.Fprintf(w, "  %-22s %8.2f\n", fmt.Sprintf("per member (%d)", p.Members), p.Cost.PerMember)
	if !o.Fits {
		fmt.Fprintf(w, "\nToo small: %s.\n", o.Reason())
		if o.Resized != nil {
			fmt.Fprintf(w, "Resized to %s, the one machine costs %.2f %s a month.\n", o.ResizeTo.Name, o.Resized.Monthly, o.Resized.Currency)
		}
	}
	for _, warn := range p.Warnings {
		fmt.Fprintf(w, "\nwarning: %s", warn)
	}
	if len(p.Warnings) > 0 {
		fmt.Fprintln(w)
	}
}
