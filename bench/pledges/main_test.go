package main

import (
	"context"
	"flag"
	"testing"

	"github.com/lifeboat-social/lifeboat/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// The CI size; go test ./bench/pledges -v -args -n 5000 -c 64 for the
// README's figures.
var (
	benchN = flag.Int("n", 300, "pledges")
	benchC = flag.Int("c", 16, "concurrent clients")
)

func TestPledgesSQLite(t *testing.T) {
	r, err := Run(context.Background(), Options{N: *benchN, Concurrency: *benchC})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(r)
	if !r.OK() {
		t.Fatal("store count or mails do not match the successful pledges")
	}
}

func TestPledgesPostgres(t *testing.T) {
	r, err := Run(context.Background(), Options{N: *benchN, Concurrency: *benchC, DatabaseURL: pgtest.URL(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(r)
	if !r.OK() {
		t.Fatal("store count or mails do not match the successful pledges")
	}
}
