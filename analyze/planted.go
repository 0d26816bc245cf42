package analyze

import (
	"bufio"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
)

// WritePlanted writes a planted-partition graph, the standard test of
// community detection: n nodes (named 0..n-1) in k equal communities
// (node i is in community i mod k) and m undirected edges, each inside a
// community with probability pin and between two random nodes otherwise.
// Each edge is written both ways, as follows that go both ways. It
// returns how many distinct undirected edges were written.
func WritePlanted(w io.Writer, n, k, m int, pin float64, seed uint64) (int, error) {
	rng := rand.New(rand.NewPCG(seed, 0x706c616e))
	bw := bufio.NewWriterSize(w, 1<<16)
	seen := make(map[[2]int32]bool, m)
	var line []byte
	for len(seen) < m {
		u := rng.IntN(n)
		var v int
		if rng.Float64() < pin {
			v = (rng.IntN(n/k))*k + u%k
		} else {
			v = rng.IntN(n)
		}
		if u == v || v >= n {
			continue
		}
		key := [2]int32{int32(min(u, v)), int32(max(u, v))}
		if seen[key] {
			continue
		}
		seen[key] = true
		for _, p := range [][2]int{{u, v}, {v, u}} {
			line = strconv.AppendInt(line[:0], int64(p[0]), 10)
			line = append(line, ' ')
			line = strconv.AppendInt(line, int64(p[1]), 10)
			line = append(line, '\n')
			if _, err := bw.Write(line); err != nil {
				return 0, err
			}
		}
	}
	return len(seen), bw.Flush()
}

// NMI is the normalised mutual information of two partitions of the same
// nodes (1: the same partition; near 0: unrelated), normalised by the
// mean of the two entropies as networkx and igraph do.
func NMI(a, b []int32) float64 {
	n := float64(len(a))
	ka, kb := 0, 0
	for i := range a {
		ka, kb = max(ka, int(a[i])+1), max(kb, int(b[i])+1)
	}
	pa, pb := make([]float64, ka), make([]float64, kb)
	joint := map[[2]int32]float64{}
	for i := range a {
		pa[a[i]]++
		pb[b[i]]++
		joint[[2]int32{a[i], b[i]}]++
	}
	var mi, ha, hb float64
	for key, c := range joint {
		mi += c / n * math.Log(c*n/(pa[key[0]]*pb[key[1]]))
	}
	for _, c := range pa {
		if c > 0 {
			ha -= c / n * math.Log(c/n)
		}
	}
	for _, c := range pb {
		if c > 0 {
			hb -= c / n * math.Log(c/n)
		}
	}
	if ha+hb == 0 {
		return 1
	}
	return 2 * mi / (ha + hb)
}
