#!/usr/bin/env bash
# `npm run demo [-- ARGS]`: make sure the system has what thukho needs (node 20+, npm deps,
# redis-server for the embedded profile), then run `thukho demo`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/ensure-system.sh redis-server fonts-dejavu-core fonts-hanazono
echo 'demo: dựng phòng đọc / building the reading room (vite, under a minute)' >&2
npm run --silent build # the reading room's bundle (viewer/dist)
npm run --silent build:server || echo 'demo: không biên dịch được máy chủ; chạy mã nguồn qua tsx / the server build failed; running the sources through tsx' >&2
# glibc's default of 8 malloc arenas per core keeps memory that a small server never gets back
# (npm run bench:memory measures it); the workers get the same from serve.
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
exec node bin/thukho.js demo "$@"
