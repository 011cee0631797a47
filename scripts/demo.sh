#!/usr/bin/env bash
# `npm run demo [-- ARGS]`: make sure the system has what thukho needs (node 20+, npm deps,
# redis-server for the embedded profile), then run `thukho demo`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/ensure-system.sh redis-server fonts-dejavu-core fonts-hanazono
echo 'demo: dựng phòng đọc / building the reading room (vite, under a minute)' >&2
npm run --silent build # the reading room's bundle (viewer/dist)
exec node --import tsx src/cli.ts demo "$@"
