# The two commands of the README: `make demo` and `make test`. Each does its
# own set-up: the real components are installed once and cached in .tools/.
export LIFEBOAT_TOOLS ?= $(CURDIR)/.tools
# go.mod asks for Go 1.26.10 (hcloud-go v2.53.0 does). The go command
# fetches go1.27.3 once from the Go module proxy and builds with it, whatever
# Go the machine has; GOTOOLCHAIN must be named here because a Go whose own
# go.env says GOTOOLCHAIN=local would otherwise refuse.
export GOTOOLCHAIN := go1.27.3
GO ?= go
BIN := bin/lifeboat

.PHONY: demo test build tools bench clean screenshots

build:
	$(GO) build -o $(BIN) ./cmd/lifeboat

tools: build
	$(BIN) tools install postgres gotosocial terraform hcloud restic chromium debian-root s3-server pebble

demo: build
	$(BIN) demo

test: tools
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 40m ./...
	FUZZTIME=10s ./.ci/fuzz

bench: tools
	$(BIN) tools install graph-references
	./bench/run

# The member's pages in docs/img, taken by the browser tests in headless Chromium.
screenshots: tools
	LIFEBOAT_SCREENSHOTS=$(CURDIR)/docs/img $(GO) test -count=1 -run 'TestBrowserResume' ./web/e2e/
	LIFEBOAT_SCREENSHOTS=$(CURDIR)/docs/img $(GO) test -count=1 -run 'TestBrowserJoin/sqlite' ./web/
	LIFEBOAT_SCREENSHOTS=$(CURDIR)/docs/img $(GO) test -count=1 -run 'TestBrowserDirectory' ./web/

clean:
	rm -rf bin
