#!/usr/bin/env bash
# tests/fuzz/build.sh — builds the libFuzzer targets into build/fuzz/ with
# clang -fsanitize=fuzzer,address,undefined, compiling the needed src/ files
# directly (the project's Makefile and objects are not touched).
#   tests/fuzz/build.sh            build every target
#   CC=clang-16 tests/fuzz/build.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
CC=${CC:-clang}
OUT=build/fuzz
mkdir -p "$OUT/obj"
command -v "$CC" >/dev/null || { echo "fuzz: $CC not found (apt-get install clang)" >&2; exit 1; }

SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
CFLAGS="-std=c17 -D_GNU_SOURCE -O1 -g $SAN -Isrc -Itests/fuzz -I$OUT $(pkg-config --cflags jansson yajl glib-2.0 libmicrohttpd libsodium)"
LIBS="$(pkg-config --libs jansson yajl glib-2.0 libmicrohttpd libsodium) -lpthread -lm"

# the src/ files the targets need (pure domain code, core and the submission body parser;
# http.c is included by fuzz_http.c)
SRCS="src/core/buf.c src/core/error.c src/core/log.c src/core/mem.c src/core/time.c
      src/api/body.c src/domain/form.c src/domain/idnum.c src/domain/mask.c src/domain/rules.c src/domain/spec.c src/domain/validate.c"
OBJS=()
for s in $SRCS; do
	o=$OUT/obj/$(echo "${s#src/}" | tr / _ | sed 's/\.c$/.o/')
	if [ ! -f "$o" ] || [ "$s" -nt "$o" ] || [ "$0" -nt "$o" ]; then
		$CC $CFLAGS -fsanitize=fuzzer-no-link -c -o "$o" "$s"
	fi
	OBJS+=("$o")
done

# the server's route table, every handler replaced by the fuzz stub
sed -n 's/^[[:space:]]*{\("[A-Z]*", "[^"]*", "[^"]*"\), api_[a-z_0-9]*},.*/\t{\1, stub},/p' src/api/api.c >"$OUT/routes.inc"
[ -s "$OUT/routes.inc" ] || { echo "fuzz: no routes found in src/api/api.c" >&2; exit 1; }

for t in form spec idnum time http; do
	$CC $CFLAGS -fsanitize=fuzzer -DPROGRAMS_DIR="\"$ROOT/programs\"" -o "$OUT/fuzz_$t" "tests/fuzz/fuzz_$t.c" \
		"${OBJS[@]}" $LIBS
done
echo "fuzz: built $(ls "$OUT"/fuzz_* | tr '\n' ' ')"
