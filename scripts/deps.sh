#!/usr/bin/env bash
# Installs the Debian packages Tisheng needs that are missing (run as root or
# with sudo). Usage: scripts/deps.sh [build|test]
set -euo pipefail
what=${1:-build}
pkgs=(build-essential pkg-config libmicrohttpd-dev libjansson-dev libyajl-dev libglib2.0-dev libsqlite3-dev sqlite3 libsodium-dev
      libcurl4-openssl-dev libcairo2-dev libpango1.0-dev fonts-noto-cjk libcmocka-dev libxlsxwriter-dev liboath-dev libpq-dev zlib1g-dev
      poppler-utils)
if [ "$what" = test ]; then
  pkgs+=(chromium postgresql unzip clang libclang-rt-14-dev wrk)
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  pkgs+=(nodejs npm)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
