# The two commands: `make run` and `make test`. Both install what is missing
# (Debian 12, as root), then build with CMake. CRM_* variables pass through.

BUILD      ?= build
TEST_BUILD ?= build-test
JOBS       ?= $(shell nproc)

.PHONY: all build run test test-fault test-ha fuzz bench bench-build bench-ha bench-units bench-login bench-projects bench-stats soak-build soak soak-quick restore-drill clean format schema

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

# The fault tests alone (tests/fault/, label "fault"; `make test` runs them too).
test-fault:
	@scripts/deps.sh test
	cmake -S . -B $(TEST_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCRM_SANITIZE=ON -DCRM_TESTS=ON >/dev/null
	cmake --build $(TEST_BUILD) -j $(JOBS)
	cd $(TEST_BUILD) && ctest --output-on-failure -L fault

# Replicas and failover (issue 17): a Patroni primary and standby with a one-node
# etcd on loopback, crm under AddressSanitizer given both (tests/ha/ha.bats); as
# root (Patroni and PostgreSQL run as postgres). About a minute.
test-ha:
	@scripts/deps.sh test
	@scripts/deps.sh test-ha
	cmake -S . -B $(TEST_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCRM_SANITIZE=ON -DCRM_TESTS=ON >/dev/null
	cmake --build $(TEST_BUILD) -j $(JOBS)
	CRM_BIN=$(CURDIR)/$(TEST_BUILD)/crm bats tests/ha/ha.bats

# Every libFuzzer target of tests/fuzz for FUZZ_SECONDS each (clang, in
# build-fuzz); prints executions and crashes per target. tests/fuzz/run.sh says how.
FUZZ_SECONDS ?= 60
fuzz:
	@scripts/deps.sh fuzz
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh

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

# Issue 17: list and figures read on the primary alone against with one standby, on
# the Patroni pair of tests/ha/ (as root); writes bench/HA.md. bench/ha.sh says how.
bench-ha: bench-build
	@scripts/deps.sh test-ha
	bench/ha.sh build-bench/crm

bench-units: bench-build
	bench/units.sh build-bench/crm

bench-login: bench-build
	bench/login_storm.sh build-bench/crm

bench-projects: bench-build
	bench/projects_list.sh build-bench/crm

bench-stats: bench-build
	bench/stats.sh build-bench/crm

# Issue 12: 10 minutes at a constant rate under AddressSanitizer + LeakSanitizer, RSS
# flat after the warm-up, no leak at SIGTERM; writes bench/SOAK.md (bench/soak.sh).
# soak-quick: the same for 30 s (under a minute), its report in bench/out/soak/.
SOAK_BUILD ?= build-soak

soak-build:
	@scripts/deps.sh soak
	cmake -S . -B $(SOAK_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCRM_SANITIZE=ON -DCRM_TESTS=OFF >/dev/null
	cmake --build $(SOAK_BUILD) -j $(JOBS)

soak: soak-build
	bench/soak.sh $(SOAK_BUILD)/crm

soak-quick: soak-build
	SOAK_SECONDS=30 bench/soak.sh $(SOAK_BUILD)/crm

# Issue 12: pgBackRest as docker-compose.yml sets it up, on a private cluster: a full
# backup, writes through crm, a point-in-time restore, every row and audit row compared
# (scripts/restore-drill.sh).
restore-drill: build
	@scripts/deps.sh restore-drill
	scripts/restore-drill.sh $(BUILD)/crm

# The committed schema snapshot (tests/sql/schema.snapshot) refreshed from the
# migrations, after a change to the schema (sql.schema compares them).
schema:
	@scripts/deps.sh test
	cmake -S . -B $(TEST_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCRM_SANITIZE=ON -DCRM_TESTS=ON >/dev/null
	cmake --build $(TEST_BUILD) -j $(JOBS)
	cd $(TEST_BUILD) && CRM_SCHEMA_UPDATE=1 ctest -R '^sql.schema$$' --output-on-failure

format:
	clang-format -i crm/*.c crm/*/*.c crm/*/*.h tests/unit/*.c tests/fuzz/*.c tests/fuzz/*.h

clean:
	rm -rf $(BUILD) $(TEST_BUILD) build-bench build-fuzz $(SOAK_BUILD)
