# Watershed — the two commands a new user needs: `make demo` and `make test`.
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)

.PHONY: all setup build test unit integration cloud demo bench asan fuzz fuzz-smoke format clean

all: build

setup:
	@scripts/setup

$(BUILD)/build.ninja: | setup
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: setup $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

# The whole suite: a short run of every fuzz target, then the unit tests, the integration
# tests (which start real processes) and the same again on S3 + PostgreSQL (label `cloud`).
test: build fuzz-smoke
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 900

# libFuzzer targets (fuzz/, built with clang in build-fuzz): FUZZ_SECONDS each (60), or name some:
# `make fuzz FUZZ_TARGETS="normalizer schedule"`.
FUZZ_SECONDS ?= 60
fuzz: setup
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz $(FUZZ_TARGETS)

fuzz-smoke: setup
	FUZZ_SECONDS=10 scripts/fuzz

unit: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L unit

integration: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L integration

# The integration tests again on S3 (moto_server) and a PostgreSQL catalog (tests/README.md).
cloud: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L cloud

demo: build
	@scripts/demo $(BUILD)

bench: build
	BUILD=$(BUILD) bench/normalize/run.sh
	BUILD=$(BUILD) bench/crunchbase/run.sh
	BUILD=$(BUILD) bench/scheduler/run.sh
	BUILD=$(BUILD) bench/stream/run.sh
	BUILD=$(BUILD) bench/s3/run.sh
	BUILD=$(BUILD) bench/catalog/run.sh
	BUILD=$(BUILD) bench/iceberg/run.sh

# Unit tests under AddressSanitizer + UndefinedBehaviorSanitizer.
asan: setup
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DWATERSHED_ASAN=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS) --target unit_tests
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=0 ctest --output-on-failure -j $(JOBS) -L unit

format:
	find src bench tests -name '*.h' -o -name '*.cc' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
