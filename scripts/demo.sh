#!/usr/bin/env bash
# One command for a fresh Debian machine: install what is missing, build the
# server and the pages, create the demo data (Yunnan 2022, open now) and serve
# it on http://127.0.0.1:8080/ . Data: ./data-demo (delete it to start over).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh build
make -j"$(nproc)"   # build/tisheng and the pages (scripts/pages.sh)
DATA=${TISHENG_DEMO_DATA:-./data-demo}
LISTEN=${TISHENG_LISTEN:-127.0.0.1:8080}
if [ ! -f "$DATA/keys/master.key" ]; then
  build/tisheng init --data "$DATA" --demo
fi
echo "== serving on http://$LISTEN/ (applicants) and http://$LISTEN/console/ (union staff); Ctrl-C to stop"
echo "   SMS codes are written to $DATA/sms.jsonl"
exec build/tisheng serve --data "$DATA" --listen "$LISTEN" --sms "file:$DATA/sms.jsonl"
