# The two commands: `make run` and `make test`. Both install what is missing
# (Debian 12, as root), then build with CMake. CRM_* variables pass through.

BUILD      ?= build
TEST_BUILD ?= build-test
JOBS       ?= $(shell nproc)

.PHONY: all build run test bench bench-build bench-units bench-login bench-projects bench-stats clean format

all: build

build:
	@scripts/deps.sh run
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCRM_TESTS=OFF >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

# Browsers may call `make run` from a front-end dev server on this machine
# (Vite's default port, 5173). Set CRM_CORS_ORIGINS (empty: none) to change it.
CRM_CORS_ORIGINS ?= http://localhost:5173,http://127.0.0.1:5173

# Serves on the embedded PostgreSQL with the demo data; Ctrl-C stops both.
run: build
	CRM_CORS_ORIGINS='$(CRM_CORS_ORIGINS)' ./$(BUILD)/crm serve --demo

# Every test, under AddressSanitizer and UBSan, against a throwaway PostgreSQL.
test:
	@scripts/deps.sh test
	cmake -S . -B $(TEST_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCRM_SANITIZE=ON -DCRM_TESTS=ON >/dev/null
	cmake --build $(TEST_BUILD) -j $(JOBS)
	cd $(TEST_BUILD) && ctest --output-on-failure

# Issue 6: crm against the Node peer (bench/peer) and the database's ceiling
# (pgbench), at county and province scale; prints the table and writes
# bench/RESULTS.md (under 20 minutes on a 2-core box). bench/run.sh says how.
bench:
	@scripts/deps.sh bench
	bench/run.sh

# The earlier, narrower load tests, still callable one by one.
bench-build:
	@scripts/deps.sh bench
	cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DCRM_TESTS=OFF >/dev/null
	cmake --build build-bench -j $(JOBS)

bench-units: bench-build
	bench/units.sh build-bench/crm

bench-login: bench-build
	bench/login_storm.sh build-bench/crm

bench-projects: bench-build
	bench/projects_list.sh build-bench/crm

bench-stats: bench-build
	bench/stats.sh build-bench/crm

format:
	clang-format -i crm/*.c crm/*/*.c crm/*/*.h tests/unit/*.c

clean:
	rm -rf $(BUILD) $(TEST_BUILD) build-bench
