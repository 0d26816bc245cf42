// Command graph is the benchmark of `lifeboat analyze`: on planted-partition
// graphs of 10k nodes/100k edges and 100k nodes/1M edges and on SNAP's
// ego-Facebook (kept here compressed), it runs Lifeboat's analysis and the
// same work in networkx and igraph (Debian's python3-networkx and
// python3-igraph; GNU time measures memory) in the same run, and prints, for read + viable set +
// communities: the processor time and the wall time, the peak memory of
// each process, whether the
// viable set equals networkx's K-core, the modularity, and how well the
// planted communities are recovered (NMI).
//
//	go run ./bench/graph                # all three graphs
//	go run ./bench/graph -graphs small,facebook -skip-networkx
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/lifeboat-social/lifeboat/analyze"
)

type graphSpec struct {
	name        string
	nodes, comm int
	edges       int // undirected
	k           int
}

var specs = map[string]graphSpec{
	"small":    {name: "planted 10k/100k", nodes: 10_000, comm: 50, edges: 100_000, k: 10},
	"large":    {name: "planted 100k/1M", nodes: 100_000, comm: 200, edges: 1_000_000, k: 10},
	"facebook": {name: "ego-Facebook", k: 20},
}

// result is one tool's answer on one graph.
type result struct {
	seconds    float64 // wall
	cpu        float64 // processor time: what the work costs, whatever else the shared machine runs
	peakBytes  int64
	viable     []string
	modularity float64
	nmi        float64 // against the plant; -1 without one
}

func main() {
	which := flag.String("graphs", "small,large,facebook", "graphs to run: small, large, facebook")
	skipNX := flag.Bool("skip-networkx", false, "leave networkx out (it takes minutes on the large graph)")
	python := flag.String("python", "/usr/bin/python3", "the Python with Debian's networkx and igraph")
	flag.Parse()
	dir, err := os.MkdirTemp("", "lifeboat-bench-graph-")
	check(err)
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "lifeboat")
	build := exec.Command("go", "build", "-o", bin, "./cmd/lifeboat")
	build.Stderr = os.Stderr
	check(build.Run())
	here := benchDir()

	fmt.Printf("%-18s %8s %9s %3s | %-25s | %-25s | %-26s | %-6s | %-20s | %-17s\n", "graph", "nodes", "edges", "K",
		"CPU s: lifeboat igraph nx", "wall s: lifeboat igraph nx", "peak MB: lifeboat igraph nx", "B/edge", "modularity: lb ig nx", "NMI: lb ig nx")
	for _, key := range strings.Split(*which, ",") {
		spec, ok := specs[key]
		if !ok {
			fail("unknown graph %q", key)
		}
		file := filepath.Join(dir, key+".txt")
		var plant func(label string) int32
		if key == "facebook" {
			check(unzip(filepath.Join(here, "ego-facebook.txt.gz"), file))
		} else {
			f, err := os.Create(file)
			check(err)
			_, err = analyze.WritePlanted(f, spec.nodes, spec.comm, spec.edges, 0.9, 42)
			check(err)
			check(f.Close())
			comm := spec.comm
			plant = func(label string) int32 { v, _ := strconv.Atoi(label); return int32(v % comm) }
		}
		lb := runLifeboat(bin, file, spec.k, plant)
		ig := runReference(*python, here, "igraph", file, spec.k, plant)
		nx := result{seconds: -1, cpu: -1, peakBytes: -1, nmi: -1, modularity: -1}
		if !*skipNX {
			nx = runReference(*python, here, "networkx", file, spec.k, plant)
		}
		g, err := analyze.ReadFile(file)
		check(err)
		same := "="
		if nx.viable != nil && !slices.Equal(lb.viable, nx.viable) {
			same = "≠"
		}
		fmt.Printf("%-18s %8d %9d %3d | %8.2f %7.2f %7s %s| %8.2f %7.2f %7s | %8.1f %7.1f %7s | %6.0f | %6.3f %6.3f %6s | %5s %5s %5s\n",
			spec.name, g.N(), g.Edges()/2, spec.k,
			lb.cpu, ig.cpu, opt(nx.cpu, "%.2f"), pad(same),
			lb.seconds, ig.seconds, opt(nx.seconds, "%.2f"),
			mb(lb.peakBytes), mb(ig.peakBytes), opt(mb(nx.peakBytes), "%.1f"),
			float64(lb.peakBytes)/float64(g.Edges()/2),
			lb.modularity, ig.modularity, opt(nx.modularity, "%.3f"),
			opt(lb.nmi, "%.3f"), opt(ig.nmi, "%.3f"), opt(nx.nmi, "%.3f"))
		if nx.cpu > 0 {
			fmt.Printf("%-18s viable set %d (networkx's %d-core: %d, %s); lifeboat: %.1f× networkx's speed and %.2f× igraph's (processor time; wall %.1f× and %.2f×)\n",
				"", len(lb.viable), spec.k, len(nx.viable), map[string]string{"=": "the same set", "≠": "DIFFERENT"}[same],
				nx.cpu/lb.cpu, ig.cpu/lb.cpu, nx.seconds/lb.seconds, ig.seconds/lb.seconds)
		} else {
			fmt.Printf("%-18s viable set %d; lifeboat: %.2f× igraph's speed (processor time; wall %.2f×)\n", "", len(lb.viable), ig.cpu/lb.cpu, ig.seconds/lb.seconds)
		}
	}
	fmt.Println("edges are undirected (each written both ways in the file); B/edge is lifeboat's peak memory per undirected edge;")
	fmt.Println("lifeboat's times are the whole process's (start, read, analysis, JSON); the references' exclude starting Python and importing the library")
}

func runLifeboat(bin, file string, k int, plant func(string) int32) result {
	var out bytes.Buffer
	peakFile := file + ".peak"
	cmd := measured(peakFile, bin, "analyze", "--edges", file, "--min-follows", strconv.Itoa(k), "--suggestions", "0", "--json")
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	check(cmd.Run())
	var r struct {
		Viable     []string `json:"viable"`
		Modularity float64  `json:"modularity"`
		DurationS  float64  `json:"duration_s"`
	}
	check(json.Unmarshal(out.Bytes(), &r))
	res := result{seconds: r.DurationS, cpu: cpuTime(cmd), peakBytes: peak(peakFile), viable: sorted(r.Viable), modularity: r.Modularity, nmi: -1}
	if plant != nil {
		// The command's communities, made again in this process: the same
		// code and seed give the same partition.
		g, err := analyze.ReadFile(file)
		check(err)
		comm, _ := g.Communities(1)
		res.nmi = nmiAgainst(g.Labels, func(i int) int32 { return comm[i] }, plant)
	}
	return res
}

func runReference(python, here, lib, file string, k int, plant func(string) int32) result {
	var out bytes.Buffer
	peakFile := file + ".peak"
	cmd := measured(peakFile, python, filepath.Join(here, "reference.py"), lib, file, strconv.Itoa(k))
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	check(cmd.Run())
	var r struct {
		Seconds    float64          `json:"seconds"`
		CPU        float64          `json:"cpu_seconds"`
		Viable     []string         `json:"viable"`
		Modularity float64          `json:"modularity"`
		Membership map[string]int32 `json:"membership"`
	}
	check(json.Unmarshal(out.Bytes(), &r))
	res := result{seconds: r.Seconds, cpu: r.CPU, peakBytes: peak(peakFile), viable: sorted(r.Viable), modularity: r.Modularity, nmi: -1}
	if plant != nil {
		labels := make([]string, 0, len(r.Membership))
		for l := range r.Membership {
			labels = append(labels, l)
		}
		res.nmi = nmiAgainst(labels, func(i int) int32 { return r.Membership[labels[i]] }, plant)
	}
	return res
}

func nmiAgainst(labels []string, found func(int) int32, plant func(string) int32) float64 {
	a, b := make([]int32, len(labels)), make([]int32, len(labels))
	for i, l := range labels {
		a[i], b[i] = found(i), plant(l)
	}
	return analyze.NMI(a, b)
}

// measured runs name with its arguments under GNU time, which reports the
// peak resident memory of exactly that process. The rusage of a child of
// this process would not: Linux carries the peak of the memory a child
// was forked from (this benchmark's, graphs included) into the child's.
func measured(peakFile, name string, args ...string) *exec.Cmd {
	return exec.Command("/usr/bin/time", append([]string{"-o", peakFile, "-f", "%M", name}, args...)...)
}

// peak is what GNU time wrote: the peak resident memory in KiB.
func peak(peakFile string) int64 {
	b, err := os.ReadFile(peakFile)
	check(err)
	kb, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	check(err)
	return kb * 1024
}

// cpuTime is the child's processor time, user and system.
func cpuTime(cmd *exec.Cmd) float64 {
	return (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

func mb(b int64) float64 {
	if b < 0 {
		return -1
	}
	return float64(b) / (1 << 20)
}

func opt(v float64, format string) string {
	if v < 0 {
		return "-"
	}
	return fmt.Sprintf(format, v)
}

func pad(s string) string { return s + " " }

// unzip writes the gzipped edge list without its comment lines, which
// igraph's NCOL reader does not take.
func unzip(src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	for line := range strings.Lines(string(data)) {
		if strings.HasPrefix(line, "#") {
			continue
		}
		// Each friendship both ways, as follows that go both ways.
		var u, v string
		if _, err := fmt.Sscan(line, &u, &v); err != nil {
			return fmt.Errorf("%s: %q: %w", src, line, err)
		}
		fmt.Fprintf(&b, "%s %s\n%s %s\n", u, v, v, u)
	}
	return os.WriteFile(dst, b.Bytes(), 0o600)
}

// benchDir is this folder, found from the module root the command runs in.
func benchDir() string {
	if _, err := os.Stat("bench/graph/reference.py"); err == nil {
		return "bench/graph"
	}
	fail("run from the module root: go run ./bench/graph")
	return ""
}

func check(err error) {
	if err != nil {
		fail("%v", err)
	}
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "bench/graph: "+format+"\n", a...)
	os.Exit(1)
}
