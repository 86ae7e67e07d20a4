#!/usr/bin/env bash
# scripts/pages.sh — builds the pages `tisheng serve` serves: the workers'
# phone pages (web/h5 → web/dist) and the union staff's console
# (web/console → web/dist/console), with the npm packages of their lock
# files. Run by `make` (target `pages`); needs node and npm (Debian's nodejs
# and npm, which scripts/deps.sh installs). Without npm it says so and
# leaves the pages unbuilt: the server then answers the API only.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v npm >/dev/null 2>&1; then
	echo "pages: 未找到 npm，页面未构建（tisheng serve 将只提供 API）；请先运行 bash scripts/deps.sh 安装 nodejs 和 npm" >&2
	exit 0
fi
build() { # DIR
	local d=$1
	# npm ci when the installed packages are missing or older than the lock file
	if [ ! -f "$d/node_modules/.package-lock.json" ] || [ "$d/package-lock.json" -nt "$d/node_modules/.package-lock.json" ]; then
		echo "  NPM   $d (npm ci)"
		(cd "$d" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || return 1
	fi
	echo "  VITE  $d"
	(cd "$d" && npm run --silent build >/dev/null)
}
# A failure here (no access to the npm registry, say) does not fail the
# server's build: it is reported, and the next make tries again.
if build web && build web/console; then
	touch web/dist/.built
else
	echo "pages: 页面构建失败（见上面 npm 的输出），tisheng serve 将只提供 API；修好后再运行 make" >&2
fi
