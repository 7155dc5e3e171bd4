# lull — the two-command quick start and friends.
#   make test   install missing packages, configure, build, run every test (CTest)
#   make demo   a tenant job preempted for internal work and resumed in a lull (the arbiter)
#   make demo-snapshots  a multi-rank snapshot written, inspected, verified, read from Python
#   make bench  the benchmarks (figures printed and written to build/bench/*.json)
#   make fuzz   every fuzz target for FUZZ_SECONDS each (clang, libFuzzer, ASan+UBSan; in build-fuzz/)
#   make soak-arbiter  CYCLES (500) preempt/resume cycles through the arbiter; fails if its
#               descriptors or memory grow (not in CI: about 3 s a cycle)
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
CTEST_FLAGS ?= --output-on-failure
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=

CYCLES ?= 500

.PHONY: all deps deps-bench deps-fuzz configure build test demo demo-snapshots bench fuzz soak-arbiter install clean

all: build

deps:
	@scripts/install-deps.sh

deps-bench:
	@scripts/install-deps.sh --with-bench

deps-fuzz:
	@scripts/install-deps.sh --with-fuzz

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

# A build of its own: clang, static libraries instrumented for coverage and
# sanitizers (cmake/LullSanitizers.cmake), only the fuzz targets.
fuzz: deps-fuzz
	@cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 -DLULL_FUZZ=ON \
	  -DLULL_BUILD_TESTS=OFF -DLULL_BUILD_BENCH=OFF -DBUILD_SHARED_LIBS=OFF >/dev/null
	@cmake --build $(FUZZ_BUILD) --target lull_fuzz_targets -j $(JOBS)
	@scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

soak-arbiter: build
	@scripts/soak-arbiter.py --build $(BUILD) --cycles $(CYCLES)

install: build
	cmake --install $(BUILD) --prefix $(or $(PREFIX),/usr/local)

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD)
