#!/usr/bin/env bash
# Scale data for the benchmarks (see generate.sql): a unit tree, investors,
# projects at every stage, contracts and starts with historical claim times,
# interactions; then kpi_rebuild() and VACUUM ANALYZE.
#
# usage: bench/data/generate.sh 'host=... dbname=crm user=postgres'   (a superuser, on a freshly migrated database)
#   UNITS=11 PROJECTS=1000 [INVESTORS=projects/10] [INTERACTIONS=projects*5] SEED=0.42 PREFIX=bench
# county:   UNITS=11   PROJECTS=1000
# province: UNITS=2000 PROJECTS=1000000 INVESTORS=100000 INTERACTIONS=5000000
set -euo pipefail
url=${1:?usage: generate.sh SUPERUSER_CONNINFO}
exec psql "$url" -X -q -At -v ON_ERROR_STOP=1 \
  -v units="${UNITS:-11}" -v projects="${PROJECTS:-1000}" \
  -v investors="${INVESTORS:-}" -v interactions="${INTERACTIONS:-}" \
  -v seed="${SEED:-0.42}" -v prefix="${PREFIX:-bench}" \
  -f "$(dirname "$0")/generate.sql"
