#!/usr/bin/env bash
# Makes sure this machine has what thukho needs, installing what is missing. Idempotent, and
# silent when everything is already there.
#
#   scripts/ensure-system.sh [DEBIAN_PACKAGE ...]
#   scripts/ensure-system.sh redis-server            # to run thukho (embedded profile)
#   scripts/ensure-system.sh redis-server chromium   # to run the tests (browser tests need chromium)
#
# Checks, in order:
#   1. node >= 20 is on PATH;
#   2. the Debian packages named as arguments (installed with apt-get when running as root,
#      after one `apt-get update`; otherwise the exact command to run is printed and we exit 1);
#   3. node_modules is in step with package-lock.json (`npm ci`; `npm install` without a lock).
#      Native modules (better-sqlite3) are compiled when no prebuilt binary can be downloaded,
#      so python3, make and g++ are ensured first when an install is needed. That compile
#      takes minutes and npm prints nothing meanwhile: we say so first, then every
#      ENSURE_SYSTEM_PROGRESS_SECONDS (default 30) that it is still working.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

say() { printf 'ensure-system: %s\n' "$*" >&2; }
die() { printf 'ensure-system: %s\n' "$*" >&2; exit 1; }

# --- 1. Node.js ------------------------------------------------------------------------------
if ! command -v node >/dev/null 2>&1; then
  die "Cần Node.js 20 trở lên, nhưng không tìm thấy lệnh node. / Node.js 20 or newer is required, but node is not on PATH.
  Install it from https://nodejs.org/ or NodeSource (https://github.com/nodesource/distributions), then run this again."
fi
NODE_MAJOR="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$NODE_MAJOR" -lt 20 ]; then
  die "Cần Node.js 20 trở lên, máy này có $(node --version). / Node.js 20 or newer is required; this machine has $(node --version) ($(command -v node))."
fi
command -v npm >/dev/null 2>&1 || die "npm không có trên PATH / npm is not on PATH (it ships with Node.js; reinstall Node.js 20+)."

# --- 2. Debian packages ----------------------------------------------------------------------
IS_ROOT=0
[ "$(id -u)" -eq 0 ] && IS_ROOT=1
APT_UPDATED=0

# A package counts as present when dpkg has it installed, or when a command of the same name is
# on PATH (e.g. a redis-server built from source in /usr/local/bin).
have_package() {
  local pkg="$1"
  if command -v dpkg-query >/dev/null 2>&1 &&
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)" = "installed" ]; then
    return 0
  fi
  case "$pkg" in
    redis-server) command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || [ -x /usr/sbin/redis-server ] ;;
    chromium) command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] ;;
    *) command -v "$pkg" >/dev/null 2>&1 ;;
  esac
}

# ensure_packages PKG...: install the missing ones (root) or print the command and exit 1.
ensure_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    have_package "$pkg" || missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0

  if ! command -v apt-get >/dev/null 2>&1; then
    die "Thiếu gói / missing packages: ${missing[*]} — and apt-get is not available; install them with this system's package manager."
  fi
  if [ "$IS_ROOT" -ne 1 ]; then
    die "Thiếu gói hệ thống, hãy chạy / missing system packages, run:
  sudo apt-get update && sudo apt-get install -y ${missing[*]}"
  fi
  if [ "$APT_UPDATED" -eq 0 ]; then
    say "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || die "apt-get update failed"
    APT_UPDATED=1
  fi
  say "apt-get install -y ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2 ||
    die "apt-get install -y ${missing[*]} failed"
  for pkg in "${missing[@]}"; do
    have_package "$pkg" || die "$pkg is still missing after apt-get install"
  done
}

if [ "$#" -gt 0 ]; then
  ensure_packages "$@"
fi

# --- 3. npm dependencies ---------------------------------------------------------------------
NPM_CMD=()
if [ -f package-lock.json ]; then
  if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] ||
    [ package-lock.json -nt node_modules/.package-lock.json ]; then
    NPM_CMD=(npm ci --no-audit --no-fund)
  fi
elif [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] ||
  [ package.json -nt node_modules/.package-lock.json ]; then
  NPM_CMD=(npm install --no-audit --no-fund)
fi

if [ "${#NPM_CMD[@]}" -gt 0 ]; then
  # node-gyp fallback for native modules (only the npm registry may be reachable, not GitHub).
  build_tools=()
  command -v python3 >/dev/null 2>&1 || build_tools+=(python3)
  command -v make >/dev/null 2>&1 || build_tools+=(make)
  command -v g++ >/dev/null 2>&1 || build_tools+=(g++)
  if [ "${#build_tools[@]}" -gt 0 ]; then
    ensure_packages "${build_tools[@]}"
  fi
  # npm prints nothing while it compiles; without a word the first run looks hung.
  say "${NPM_CMD[*]}: cài các gói npm. Lần đầu có thể mất khoảng 4–5 phút khi phải biên dịch thư viện SQLite (better-sqlite3) từ mã nguồn; máy không bị treo."
  say "${NPM_CMD[*]}: installing the npm packages. The first time this can take about 4–5 minutes while the SQLite binding (better-sqlite3) is compiled from source; nothing is stuck."
  "${NPM_CMD[@]}" >&2 &
  npm_pid=$!
  trap 'kill "$npm_pid" 2>/dev/null' EXIT
  every="${ENSURE_SYSTEM_PROGRESS_SECONDS:-30}"
  waited=0
  while kill -0 "$npm_pid" 2>/dev/null; do
    sleep 1
    waited=$((waited + 1))
    if [ $((waited % every)) -eq 0 ]; then
      say "npm vẫn đang chạy / npm is still working (${waited} s)"
    fi
  done
  wait "$npm_pid" || die "${NPM_CMD[*]} failed"
  trap - EXIT
  say "npm: xong / done (${waited} s)"
fi
