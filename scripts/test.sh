#!/usr/bin/env bash
# One command that builds everything and runs every test:
#   unit tests (cmocka), API tests against a real server on SQLite and on a
#   throw-away PostgreSQL cluster (node's test runner), browser tests of the
#   applicant pages and the staff console (Playwright over Debian's Chromium),
#   crash / full-disk / overload tests, then unit and API tests again under
#   AddressSanitizer + UBSan, and every fuzz target for 30 s.
# Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh test
started=$(date +%s)
step() { echo; echo "== $* ($(( $(date +%s) - started ))s)"; }

step build
make -j"$(nproc)"
make -j"$(nproc)" SANITIZE=1 build/san/tisheng

step "unit and API tests (SQLite)"
make check

step "crash, full-disk and overload tests"
make check-crash

step "API tests (PostgreSQL)"
make check-pg
step "PostgreSQL faults: two nodes, a node killed, the database restarted"
make check-pg-faults

step "web pages: built by make (scripts/pages.sh); the home page's JS budget"
(cd web && npm run size)

step "browser tests: applicant pages"
(cd web && npm run test:browser)
step "browser tests: staff console"
(cd web/console && npm run test:browser)

step "unit and API tests under ASan + UBSan"
make check SANITIZE=1

step "fuzzing: every target 30 s under ASan + UBSan"
make check-fuzz

step "all tests passed"
