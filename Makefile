# dragonflow-go — `make test` installs what the tests need (Debian packages,
# Go modules through the proxy) and runs every test.

GO        ?= go
PKGS      ?= ./...
TEST_FLAGS ?= -race -count=1 -timeout 20m
FUZZTIME  ?= 20s

.PHONY: all build test test-deps vet fmt-check unit fuzz aio clean

all: build

build:
	$(GO) build ./...

test: test-deps fmt-check vet unit

# Debian packages the tests use as real peers (python3-msgpack: an
# independent msgpack to cross-check the wire body against).
test-deps:
	./scripts/install-test-deps.sh

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

unit:
	$(GO) test $(TEST_FLAGS) $(PKGS)

# Bounded fuzzing of every decoder (FUZZTIME each).
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzDecodeBody -fuzztime=$(FUZZTIME) ./model/

aio:
	$(GO) run ./cmd/df-aio

clean:
	$(GO) clean -testcache
