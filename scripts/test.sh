#!/usr/bin/env bash
# One command that builds everything and runs every test: unit tests (cmocka),
# API tests against a real server (node's test runner), browser tests
# (Playwright over Debian's Chromium), then unit and API tests again under
# AddressSanitizer + UndefinedBehaviorSanitizer. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh test
make -j"$(nproc)"
make -j"$(nproc)" SANITIZE=1 build/san/tisheng
make check
if [ -f web/package.json ]; then
  (cd web && npm ci --no-audit --no-fund && npm run build)
  if [ -d tests/browser ] && ls tests/browser/*.test.mjs >/dev/null 2>&1; then
    (cd web && npm run test:browser)
  fi
fi
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  make check SANITIZE=1
echo "== all tests passed"
