package faultproxy

import (
	"io"
	"math/rand/v2"
	"net"
	"sync"
)

// TCP is a fault-injecting proxy for a protocol below HTTP (SMTP): it
// passes bytes both ways and cuts some connections with a reset after a
// random number of the client's bytes.
type TCP struct {
	Addr string // host:port to dial instead of the target's

	target string
	ln     net.Listener
	rate   float64
	max    int

	mu   sync.Mutex
	rng  *rand.Rand
	cuts int
	all  int
}

// StartTCP starts a proxy on loopback in front of target. A share rate of
// connections is cut after a random count of bytes from the client, below
// max (so a test can keep every cut before a point it knows, such as the
// end of a mail's data).
func StartTCP(target string, seed uint64, rate float64, max int) (*TCP, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &TCP{Addr: ln.Addr().String(), target: target, ln: ln, rate: rate, max: max,
		rng: rand.New(rand.NewPCG(seed, 0x736d7470))}
	go p.serve()
	return p, nil
}

// Cuts reports how many connections were cut, of how many.
func (p *TCP) Cuts() (cut, all int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cuts, p.all
}

// Close stops accepting connections.
func (p *TCP) Close() error { return p.ln.Close() }

func (p *TCP) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.all++
		cut := -1
		if p.rng.Float64() < p.rate {
			cut = p.rng.IntN(p.max)
			p.cuts++
		}
		p.mu.Unlock()
		go p.pipe(c.(*net.TCPConn), cut)
	}
}

// pipe copies c to the target and back; with cut >= 0 it resets both
// connections once cut bytes of the client's have gone through.
func (p *TCP) pipe(c *net.TCPConn, cut int) {
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		c.SetLinger(0)
		c.Close()
		return
	}
	server := s.(*net.TCPConn)
	done := make(chan struct{}, 2)
	go func() {
		io.Copy(c, server)
		done <- struct{}{}
	}()
	go func() {
		if cut >= 0 {
			io.CopyN(server, c, int64(cut))
			c.SetLinger(0)
			server.SetLinger(0)
		} else {
			io.Copy(server, c)
		}
		done <- struct{}{}
	}()
	<-done
	c.Close()
	server.Close()
	<-done
}
