# streamplane — the two commands are `make run` and `make test`.
# Everything else here is what those two need.

BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
FUZZ_SECONDS ?= 300        # per harness, for `make fuzz` (make test runs each 4 s)
CACHE      ?= $(or $(STREAMPLANE_CACHE),$(HOME)/.cache/streamplane)
LISTEN     ?= 127.0.0.1:8080
DATA_DIR   ?= ./data
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# ccache keeps objects in the cache outside the clone, with paths relative to
# the clone, so a fresh clone (CI's, or a second checkout) compiles only what
# changed. Used when present (make deps installs it).
ifneq ($(shell command -v ccache),)
export CCACHE_DIR      ?= $(CACHE)/ccache
export CCACHE_BASEDIR  := $(CURDIR)
export CCACHE_NOHASHDIR := true
LAUNCH := -DCMAKE_C_COMPILER_LAUNCHER=ccache
endif

# Debian packages the build, the tests and the benchmarks need.
APT_PKGS := build-essential cmake pkg-config libmicrohttpd-dev libjansson-dev libsqlite3-dev \
            libssl-dev libcurl4-openssl-dev libyaml-dev librdkafka-dev check \
            prometheus wrk nginx-light curl sqlite3 jq python3 bc clang ccache \
            maven openjdk-17-jre-headless unzip kcat python3-yaml iproute2

.PHONY: all deps test-deps build build-matrix run demo test test-asan fuzz fuzz-build bench clean

all: build

# Installs only what is missing, so a second `make run` costs nothing.
deps:
	@missing=$$(for p in $(APT_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi
	@command -v npm >/dev/null || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nodejs npm >/dev/null; }
	@if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then \
	  npm ci --no-audit --no-fund --loglevel=error; fi

# The real clients the tests drive (schemathesis, chromium, the Terraform REST
# provider, OpenTofu), built or installed once into the cache outside the clone.
test-deps: deps
	@bash tests/clients/tools.sh all

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(LAUNCH) >/dev/null
	@cmake --build $(BUILD) -j$$(nproc)

# Every build type with GCC and clang, -Werror (make test runs it too).
build-matrix: deps
	@bash scripts/build-matrix.sh

run: build
	$(BUILD)/streamplane serve --listen $(LISTEN) --data-dir $(DATA_DIR) --log-format text

# The bed (scripts/bed: a real Kubernetes control plane on loopback) and
# streamplane wired together, to watch a cluster come up.
demo: build
	bash scripts/demo.sh

# The whole suite: the build matrix (GCC and clang x Release, RelWithDebInfo,
# Debug), the layer check, unit, end-to-end over HTTP, OpenAPI checks, then
# all of it again under AddressSanitizer and UBSan, and a few seconds of each
# libFuzzer harness. tests/run.sh prints the counts.
test: build fuzz-build test-deps
	@cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DSP_SANITIZE=ON $(LAUNCH) >/dev/null
	@cmake --build $(BUILD_ASAN) -j$$(nproc)
	@bash tests/run.sh $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)

# The libFuzzer harnesses (fuzz/), built with clang.
fuzz-build: deps
	@CC=clang cmake -S . -B $(BUILD_FUZZ) -DCMAKE_BUILD_TYPE=Debug -DSP_FUZZ=ON $(LAUNCH) >/dev/null
	@cmake --build $(BUILD_FUZZ) -j$$(nproc) --target fuzzers

# A longer run of each harness (FUZZ_SECONDS each), its corpus kept in the
# cache outside the clone so runs build on each other.
# Then schemathesis against the API for longer than make test does: 200
# examples per operation and phase, a new seed each run (printed; SEED= repeats one).
fuzz: fuzz-build build test-deps
	@bash fuzz/run.sh $(BUILD_FUZZ) $(strip $(FUZZ_SECONDS)) $(CACHE)/fuzz-corpus
	bash tests/schemathesis/run.sh $(BUILD)/streamplane 200 $${SEED:-$$(od -An -N2 -tu2 /dev/urandom | tr -d " ")}

test-asan: deps
	@cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DSP_SANITIZE=ON $(LAUNCH) >/dev/null
	@cmake --build $(BUILD_ASAN) -j$$(nproc)
	@bash tests/run.sh "" $(BUILD_ASAN)

bench: build
	bash bench/api/run.sh
	bash bench/reconcile/run.sh
	bash bench/planner/run.sh
	bash bench/pki/run.sh

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ) build-matrix
