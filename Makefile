# lull — the two-command quick start and friends.
#   make test   install missing packages, configure, build, run every test (CTest)
#   make demo   a tenant job preempted for internal work and resumed in a lull (the arbiter)
#   make demo-snapshots  a multi-rank snapshot written, inspected, verified, read from Python
#   make bench  the benchmarks (figures printed and written to build/bench/*.json)
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
CTEST_FLAGS ?= --output-on-failure

.PHONY: all deps configure build test demo demo-snapshots bench install clean

all: build

deps:
	@scripts/install-deps.sh

deps-bench:
	@scripts/install-deps.sh --with-bench

configure: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest $(CTEST_FLAGS)

demo: build
	@scripts/demo.sh $(BUILD)

demo-snapshots: build
	@scripts/demo-snapshots.sh $(BUILD)

bench: deps-bench configure
	@cmake --build $(BUILD) -j $(JOBS)
	@scripts/bench.sh $(BUILD)

install: build
	cmake --install $(BUILD) --prefix $(or $(PREFIX),/usr/local)

clean:
	rm -rf $(BUILD)
