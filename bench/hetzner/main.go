// Command hetzner benchmarks `lifeboat up` against a raw `terraform
// apply` of the same module, both against the fake Hetzner Cloud API with
// the real Terraform and the real hcloud provider, in the same run, and
// prints the ratio (target: at most 1.15).
//
//	go run ./bench/hetzner [-rounds 5] [-poll 500ms]
//	go run ./bench/hetzner -serve   # only run a fake API and print its endpoint
//
// Each round starts a fresh fake and a fresh state directory for each
// side, so both do the same work: terraform init from the filesystem
// mirror, then an apply that creates the SSH key, firewall, two primary
// IPs, the server and a volume. The lifeboat side also runs pre-flight
// (hcloud-go), makes the keys, renders cloud-init and reads the outputs;
// the raw side applies the very variables file lifeboat rendered.
package main

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/hcloudfake"
	"github.com/lifeboat-social/lifeboat/internal/tools"
	"github.com/lifeboat-social/lifeboat/templates"
)

func main() {
	rounds := flag.Int("rounds", 5, "rounds; the median of each side is compared")
	poll := flag.String("poll", "500ms", "provider poll interval (both sides)")
	group := flag.String("group", "examples/new-hetzner.yaml", "group file")
	serve := flag.Bool("serve", false, "only serve a fake API until interrupted")
	flag.Parse()
	if err := run(*rounds, *poll, *group, *serve); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(rounds int, poll, group string, serve bool) error {
	if serve {
		f := hcloudfake.New().Start()
		defer f.Close()
		fmt.Printf("HCLOUD_ENDPOINT=%s\nHCLOUD_TOKEN=%s\n", f.URL(), f.Token)
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		<-ctx.Done()
		return nil
	}
	ctx := context.Background()
	in := tools.New()
	tf, err := in.Terraform(ctx)
	if err != nil {
		return err
	}
	mirror, err := in.HcloudMirror(ctx)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "lifeboat-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "lifeboat")
	build := exec.Command("go", "build", "-o", bin, "./cmd/lifeboat")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build lifeboat: %w", err)
	}

	var ups, raws []time.Duration
	for i := range rounds {
		// Alternate which side goes first so caches favour neither.
		sides := []func() (time.Duration, error){
			func() (time.Duration, error) {
				return upOnce(bin, tf, mirror, group, poll, filepath.Join(work, fmt.Sprintf("up-%d", i)))
			},
			func() (time.Duration, error) {
				return rawOnce(bin, tf, mirror, group, poll, filepath.Join(work, fmt.Sprintf("raw-%d", i)))
			},
		}
		if i%2 == 1 {
			slices.Reverse(sides)
		}
		for j, side := range sides {
			d, err := side()
			if err != nil {
				return err
			}
			if (j == 0) == (i%2 == 0) {
				ups = append(ups, d)
			} else {
				raws = append(raws, d)
			}
		}
		fmt.Fprintf(os.Stderr, "round %d: lifeboat up %v, terraform apply %v\n", i+1, ups[i].Round(time.Millisecond), raws[i].Round(time.Millisecond))
	}
	up, raw := median(ups), median(raws)
	fmt.Printf("lifeboat up (median of %d):       %v\n", rounds, up.Round(time.Millisecond))
	fmt.Printf("raw terraform apply (median of %d): %v\n", rounds, raw.Round(time.Millisecond))
	fmt.Printf("ratio: %.3f (target <= 1.15)\n", float64(up)/float64(raw))
	return nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func env(f *hcloudfake.Fake, state, tf, mirror string) []string {
	return append(os.Environ(),
		"HCLOUD_TOKEN="+f.Token, "HCLOUD_ENDPOINT="+f.URL(), "LIFEBOAT_STATE="+state,
		"LIFEBOAT_TERRAFORM="+tf, "LIFEBOAT_HCLOUD_MIRROR="+mirror,
	)
}

// upOnce times `lifeboat up --no-wait` against a fresh fake.
func upOnce(bin, tf, mirror, group, poll, state string) (time.Duration, error) {
	f := hcloudfake.New().Start()
	defer f.Close()
	cmd := exec.Command(bin, "up", group, "--ssh-from", "203.0.113.7", "--volume", "10", "--no-wait", "--json", "--poll-interval", poll)
	cmd.Env = env(f, state, tf, mirror)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("lifeboat up: %w\n%s", err, stderr.String())
	}
	d := time.Since(start)
	if c := f.Counts(); c["servers"] != 1 || c["volumes"] != 1 {
		return 0, fmt.Errorf("lifeboat up left %v", c)
	}
	if g := f.Gone(); len(g) > 0 {
		return 0, fmt.Errorf("lifeboat up used what the API removed: %q", g)
	}
	return d, nil
}

// rawOnce renders the variables with lifeboat plan (untimed), then times
// terraform init + apply of the same module with them against a fresh
// fake.
func rawOnce(bin, tf, mirror, group, poll, state string) (time.Duration, error) {
	prep := hcloudfake.New().Start()
	cmd := exec.Command(bin, "plan", group, "--ssh-from", "203.0.113.7", "--volume", "10", "--json", "--poll-interval", poll)
	cmd.Env = env(prep, state, tf, mirror)
	out, err := cmd.CombinedOutput()
	prep.Close()
	if err != nil {
		return 0, fmt.Errorf("lifeboat plan: %w\n%s", err, out)
	}
	matches, _ := filepath.Glob(filepath.Join(state, "groups", "*", "hetzner", "vars.tfvars.json"))
	if len(matches) != 1 {
		return 0, fmt.Errorf("no rendered variables in %s", state)
	}
	vars := matches[0]

	f := hcloudfake.New().Start()
	defer f.Close()
	dir := filepath.Join(state, "raw")
	sub, _ := fs.Sub(templates.Hetzner, "terraform")
	if err := os.CopyFS(dir, sub); err != nil {
		return 0, err
	}
	rc := filepath.Join(state, "raw.tfrc")
	os.WriteFile(rc, []byte(fmt.Sprintf("provider_installation {\n  filesystem_mirror {\n    path = %q\n  }\n}\n", mirror)), 0o600)
	e := append(os.Environ(), "TF_CLI_CONFIG_FILE="+rc, "HCLOUD_TOKEN="+f.Token, "HCLOUD_ENDPOINT="+f.URL(), "CHECKPOINT_DISABLE=1")
	start := time.Now()
	for _, args := range [][]string{
		{"init", "-input=false", "-backend-config=path=" + filepath.Join(state, "raw.tfstate")},
		{"apply", "-input=false", "-auto-approve", "-var-file=" + vars},
	} {
		c := exec.Command(tf, args...)
		c.Dir, c.Env = dir, e
		if out, err := c.CombinedOutput(); err != nil {
			return 0, fmt.Errorf("terraform %s: %w\n%s", args[0], err, out)
		}
	}
	d := time.Since(start)
	if c := f.Counts(); c["servers"] != 1 || c["volumes"] != 1 {
		return 0, fmt.Errorf("terraform apply left %v", c)
	}
	return d, nil
}
