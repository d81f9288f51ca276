#!/usr/bin/env bash
# Installs what crm needs to build, run and test on Debian 12, only what is
# missing. `deps.sh run` for `make run`, `deps.sh test` for `make test`,
# `deps.sh bench` for `make bench`, `deps.sh soak` for `make soak` (the ASan build
# and wrk), `deps.sh restore-drill` for `make restore-drill` (pgBackRest),
# `deps.sh fuzz` for `make fuzz` (clang and its libFuzzer), `deps.sh test-ha` for
# `make test-ha` (Patroni, etcd). `deps.sh test` also brings
# what the browser tests (tests/browser) drive: Debian's chromium, a CJK font for
# legible screenshots, and playwright-core from npm.
# Needs root (or sudo) when something is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-run}
pkgs=(build-essential cmake pkg-config libevent-dev libpq-dev libjansson-dev libsodium-dev
      libcsv-dev libxlsxwriter-dev libcurl4-openssl-dev postgresql-15 postgresql-contrib curl
      ca-certificates)
case "$what" in
  test)  pkgs+=(libcmocka-dev bats jq docker-compose nodejs npm postgresql-15-pgtap
               libtap-parser-sourcehandler-pgtap-perl clang libclang-rt-14-dev unzip
               python3 python3-yaml chromium fonts-wqy-zenhei) ;;
  bench) pkgs+=(wrk jq nodejs npm) ;;
  # libFuzzer (and clang's sanitizer runtimes) are in libclang-rt-14-dev, which clang does not pull in.
  fuzz)  pkgs+=(clang libclang-rt-14-dev) ;;
  soak)  pkgs+=(wrk jq) ;;
  restore-drill) pkgs+=(pgbackrest jq) ;;
  # Patroni with etcd (its DCS, over the v3 API) for `make test-ha`, wrk for its read figures.
  test-ha) pkgs+=(patroni python3-etcd etcd-server etcd-client jq wrk) ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  # nodejs may come from another repository with its own npm: accept any node >= 18.
  if [ "$p" = npm ] && command -v npm >/dev/null; then continue; fi
  if [ "$p" = nodejs ] && command -v node >/dev/null; then continue; fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The OpenAPI linter, from npm, pinned, into .tools/ (not committed).
if [ "$what" = test ] && [ ! -x .tools/node_modules/.bin/redocly ]; then
  echo "deps: installing @redocly/cli into .tools/"
  npm install --prefix .tools --no-audit --no-fund --loglevel=error @redocly/cli@1.34.20 >/dev/null
fi
# The browser tests' driver, from npm, pinned, into .tools/ too. Only playwright-core: its own
# browser download is not reachable from here (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD), it drives
# Debian's chromium (executablePath /usr/bin/chromium, see tests/browser/console.mjs).
PLAYWRIGHT_CORE=1.65.2
if [ "$what" = test ] &&
   ! grep -qs "\"version\": \"$PLAYWRIGHT_CORE\"" .tools/node_modules/playwright-core/package.json; then
  echo "deps: installing playwright-core into .tools/"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix .tools --no-audit --no-fund --loglevel=error \
    --save-exact "playwright-core@$PLAYWRIGHT_CORE" >/dev/null
fi
exit 0
