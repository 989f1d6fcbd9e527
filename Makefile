# dragonflow-go — `make test` installs what the tests need (Debian packages,
# Go modules through the proxy) and runs every test.

GO        ?= go
PKGS      ?= ./...
TEST_FLAGS ?= -race -count=1 -timeout 20m
FUZZTIME  ?= 20s
# Bounded fuzzing of every decoder as part of make test (each target alone:
# go test -fuzz takes one target per run).
TEST_FUZZTIME ?= 5s
FUZZ_TARGETS = ./model/:FuzzDecodeBody ./pubsub/zmq/:FuzzBodyDecoder ./pubsub/zmq/:FuzzHeartbeat \
	./pubsub/zmq/zmtp/:FuzzFrameReader ./pubsub/zmq/zmtp/:FuzzHandshake \
	./pubsub/zmq/zmtp/:FuzzCurveCommands ./pubsub/zmq/zmtp/:FuzzCurveMessages

.PHONY: all build test test-deps vet fmt-check unit fuzz fuzz-short aio clean

all: build

build:
	$(GO) build ./...

test: test-deps fmt-check vet unit fuzz-short

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
	@$(MAKE) --no-print-directory fuzz-short TEST_FUZZTIME=$(FUZZTIME)

fuzz-short:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$fn in $$pkg for $(TEST_FUZZTIME)"; \
		$(GO) test -run='^$$' -fuzz="^$$fn\$$" -fuzztime=$(TEST_FUZZTIME) $$pkg; \
	done

aio:
	$(GO) run ./cmd/df-aio

clean:
	$(GO) clean -testcache
