# raidakx: make build, make test. Only Go is needed (gcc for the wasmtime
# engine).
GO        ?= go
BUILD     := build
WASM      := $(BUILD)/keyexchange.wasm
BIN       := $(BUILD)/raidakx
GOFLAGS_W := -trimpath -buildmode=c-shared

.PHONY: all build build.wasm build.host test test.go test.vectors vet vectors clean

all: build

build: build.wasm build.host

build.wasm:
	GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 $(GO) build $(GOFLAGS_W) -o $(WASM) ./wasm

build.host:
	$(GO) build -trimpath -o $(BIN) ./host/cmd/raidakx

## test: everything CI runs.
test: build vet test.go test.vectors

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l abi host wasm testvectors)" || { gofmt -l abi host wasm testvectors; exit 1; }

test.go: build.wasm
	RAIDAKX_WASM=$(CURDIR)/$(WASM) $(GO) test ./...

test.vectors: build
	$(BIN) replay -engine wazero testvectors
	$(BIN) replay -engine wazero-interp testvectors

## vectors: regenerate testvectors/*.json from testvectors/gen.
vectors:
	$(GO) run ./testvectors/gen -out testvectors

clean:
	rm -f $(WASM) $(BIN)
