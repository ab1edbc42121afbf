# raidakx. Only Go is needed (gcc for the wasmtime engine, Node.js 20 for
# the Node host's replay); tool versions are pinned in go.mod.
GO        ?= go
NODE      ?= node
BUILD     := build
WASM      := $(BUILD)/keyexchange.wasm
BIN       := $(BUILD)/raidakx
DEMO      := var/demo
FUZZTIME  ?= 60s
CGO       := $(shell $(GO) env CGO_ENABLED)
ENGINES   := wazero wazero-interp native $(if $(filter 1,$(CGO)),wasmtime)
RACE      := $(if $(filter 1,$(CGO)),-race)

.PHONY: all build build.wasm build.host build.faulty test vet test.go test.vectors test.node run bench fuzz vectors clean build.libwasmtime deps.python test.python

all: build

## build: the module and the runner, into build/.
build: build.wasm build.host

build.wasm:
	GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 $(GO) build -trimpath -buildmode=c-shared -o $(WASM) ./wasm

build.host:
	$(GO) build -trimpath -o $(BIN) ./host/cmd/raidakx

## build.faulty: the guest-fault test module (host/engine/testdata/faulty),
## for the foreign hosts' trap-containment tests.
build.faulty:
	cd host/engine/testdata/faulty && GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 $(GO) build -trimpath -buildmode=c-shared -o $(CURDIR)/$(BUILD)/faulty.wasm .

## test: everything CI runs (.ci/run calls it).
test: build vet test.go test.vectors test.node test.python

vet:
	$(GO) vet ./...
	CGO_ENABLED=0 $(GO) vet ./...
	@test -z "$$(gofmt -l abi host wasm testvectors)" || { echo "gofmt needed:"; gofmt -l abi host wasm testvectors; exit 1; }

test.go: build.wasm
	RAIDAKX_WASM=$(CURDIR)/$(WASM) $(GO) test $(RACE) -count=1 ./...

## test.vectors: replay every vector on every engine of this build.
test.vectors: build
	@for e in $(ENGINES); do echo "replay -engine $$e"; $(BIN) replay -engine $$e testvectors || exit 1; done

## test.node: the JavaScript kit's tests (host/js, Node's test runner),
## then its replay of every vector.
test.node: build.wasm build.faulty build.host
	RAIDAKX_WASM=$(CURDIR)/$(WASM) RAIDAKX_FAULTY_WASM=$(CURDIR)/$(BUILD)/faulty.wasm $(NODE) --test host/js
	$(NODE) testvectors/node/replay.mjs -wasm $(WASM) testvectors

## build.libwasmtime: Wasmtime's C library for the Python host, linked
## from the libwasmtime.a of the wasmtime-go release go.mod pins (the one
## the Go wasmtime engine uses); rebuilt when go.mod changes.
LIBWASMTIME := $(BUILD)/libwasmtime.so
WASMTIME_GO := github.com/bytecodealliance/wasmtime-go/v39
build.libwasmtime: $(LIBWASMTIME)

$(LIBWASMTIME): go.mod go.sum
	$(GO) mod download $(WASMTIME_GO)
	@mkdir -p $(BUILD)
	dir=$$($(GO) list -m -f '{{.Dir}}' $(WASMTIME_GO)) && \
	$(CC) -shared -o $@.tmp -Wl,--whole-archive $$dir/build/linux-$$(uname -m)/libwasmtime.a -Wl,--no-whole-archive -lm -ldl -lpthread && \
	mv $@.tmp $@

## deps.python: pytest and cryptography for PYTHON, from Debian's packages
## (PyPI is not reachable from CI).
PYTHON    ?= /usr/bin/python3
deps.python:
	@$(PYTHON) -c 'import pytest, cryptography' 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update && apt-get install -y python3-pytest python3-cryptography; \
	  else echo "$(PYTHON) lacks pytest or cryptography; run: sudo apt-get update && sudo apt-get install -y python3-pytest python3-cryptography"; exit 1; fi; }
	@$(PYTHON) -c 'import pytest, cryptography'

## test.python: the Python host's tests, then its replay of every vector.
test.python: build.wasm build.faulty build.libwasmtime deps.python
	cd host/python && PYTHONDONTWRITEBYTECODE=1 RAIDAKX_WASM=$(CURDIR)/$(WASM) RAIDAKX_FAULTY_WASM=$(CURDIR)/$(BUILD)/faulty.wasm \
	  RAIDAKX_LIBWASMTIME=$(CURDIR)/$(LIBWASMTIME) $(PYTHON) -m pytest -q tests
	PYTHONDONTWRITEBYTECODE=1 RAIDAKX_LIBWASMTIME=$(CURDIR)/$(LIBWASMTIME) PYTHONPATH=host/python $(PYTHON) -m raidakx replay -wasm $(WASM) testvectors

## run: serve a demo data root (made on first use) on 127.0.0.1.
run: build
	@test -d $(DEMO) || $(BIN) init $(DEMO)
	$(BIN) serve -config $(DEMO)/config.toml

## bench: whole-request benchmarks on every engine, with ratios to native;
## wazero's cost breakdown (interruption checks per request, with and
## without them); then the page store's durable write+commit on one page
## and spread.
bench: build
	RAIDAKX_WASM=$(CURDIR)/$(WASM) $(GO) test -run='^$$' -bench=. -benchmem -count=1 ./host/engines/ | tee $(BUILD)/bench.txt
	@$(GO) run ./host/engines/benchtable < $(BUILD)/bench.txt
	RAIDAKX_WASM=$(CURDIR)/$(WASM) $(GO) test -run='^$$' -bench=Cost -count=1 ./host/engine/wazero/ | tee $(BUILD)/bench-cost.txt
	$(GO) test -run='^$$' -bench=WriteCommit -count=1 ./host/storage/ | tee $(BUILD)/bench-storage.txt

## fuzz: run each fuzz target for FUZZTIME.
fuzz: build.wasm
	$(GO) test -run='^$$' -fuzz=FuzzHandle -fuzztime=$(FUZZTIME) ./wasm/keyexchange/
	$(GO) test -run='^$$' -fuzz=FuzzTypes45 -fuzztime=$(FUZZTIME) ./wasm/keyexchange/
	RAIDAKX_WASM=$(CURDIR)/$(WASM) $(GO) test -run='^$$' -fuzz=FuzzDifferential -fuzztime=$(FUZZTIME) ./host/engines/

## vectors: regenerate testvectors/*.json from testvectors/gen.
vectors:
	$(GO) run ./testvectors/gen -out testvectors

clean:
	rm -f $(WASM) $(BIN) $(BUILD)/faulty.wasm $(LIBWASMTIME) $(BUILD)/bench.txt $(BUILD)/bench-cost.txt $(BUILD)/bench-storage.txt
