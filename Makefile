# Portico: a Kong-compatible API gateway.
GO      ?= go
BIN     ?= bin/portico
PKGS    := ./...

.PHONY: run build test unit e2e vet fmt bench bench-proxy bench-compare bench-generator fuzz clean

## run: start a node on the embedded store (Admin API on 127.0.0.1:8001, proxy on :8000)
run:
	$(GO) run ./cmd/portico start

## build: build the portico binary into bin/
build:
	$(GO) build -o $(BIN) ./cmd/portico

## test: the whole suite: formatting, vet, unit tests (race detector) and end-to-end tests
test: fmt vet
	$(GO) test -race -count=1 $(PKGS)
	$(GO) test -count=1 -run 'Allocs' ./proxy/...

## unit: unit tests only (skips the end-to-end suite)
unit:
	$(GO) test -race -count=1 -short $(PKGS)

## e2e: the end-to-end suite only (builds the binary, drives it with curl and HTTPie)
e2e:
	$(GO) test -count=1 -v ./e2e

vet:
	$(GO) vet $(PKGS)

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

## bench: Go micro-benchmarks with allocation counts
bench:
	$(GO) test -run XXX -bench . -benchmem ./admin ./store/badger ./db ./logger ./events ./eventhooks ./proxy ./proxy/router ./proxy/balancer

## bench-proxy: Portico's proxy vs nginx proxy_pass and a bare fasthttp forwarder (needs nginx, wrk, curl)
bench-proxy:
	bash scripts/bench-proxy.sh

## bench-compare: bench-proxy plus `portico bench compare` over the same targets; the latency plots go to docs/bench/
bench-compare:
	COMPARE=1 OUT=$${OUT:-/tmp/portico-bench-compare} bash scripts/bench-proxy.sh
	mkdir -p docs/bench && cp $${OUT:-/tmp/portico-bench-compare}/compare-*.svg docs/bench/

## bench-generator: `portico bench http` against wrk, and its open-loop accuracy (needs nginx, wrk)
bench-generator:
	bash scripts/bench-generator.sh

## fuzz: run each fuzz target for FUZZTIME (default 60s)
FUZZTIME ?= 60s
fuzz:
	$(GO) test ./admin -run XXX -fuzz FuzzDecodeBody -fuzztime $(FUZZTIME)
	$(GO) test ./admin -run XXX -fuzz FuzzAdminRequest -fuzztime $(FUZZTIME)
	$(GO) test ./admin -run XXX -fuzz FuzzWorkspacePath -fuzztime $(FUZZTIME)
	$(GO) test ./conf -run XXX -fuzz FuzzParseListen -fuzztime $(FUZZTIME)
	$(GO) test ./conf -run XXX -fuzz FuzzLoadFile -fuzztime $(FUZZTIME)
	$(GO) test ./proxy/router -run XXX -fuzz FuzzNormalize -fuzztime $(FUZZTIME)
	$(GO) test ./proxy/router -run XXX -fuzz FuzzMatch -fuzztime $(FUZZTIME)
	$(GO) test ./node -run XXX -fuzz FuzzProxyProtocolHeader -fuzztime $(FUZZTIME)

clean:
	rm -rf bin .portico
