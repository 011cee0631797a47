# shellcheck shell=bash
# ops/lib/env.sh — sourced by ops/backup, ops/restore and ops/thukho, so that all three find
# the service's settings and its Node.js exactly as the systemd units do.

# thukho_load_env PROGRAM: THUKHO_ENV_FILE (default /etc/thukho/thukho.env) into the
# environment. A file named explicitly that cannot be read stops PROGRAM (exit 2): silently
# running with other settings would back up or restore the wrong repository.
thukho_load_env() {
  ENV_FILE="${THUKHO_ENV_FILE:-/etc/thukho/thukho.env}"
  if [ -n "${THUKHO_ENV_FILE:-}" ] && [ ! -r "$ENV_FILE" ]; then
    printf '%s: không đọc được / cannot read THUKHO_ENV_FILE=%s\n' "$1" "$ENV_FILE" >&2
    exit 2
  fi
  if [ -r "$ENV_FILE" ]; then
    set -a
    # shellcheck disable=SC1090
    . "$ENV_FILE"
    set +a
  fi
}

# thukho_find_node ROOT: NODE is the release's own node (ROOT/node/bin/node, in an offline
# bundle) when there is one, else `node` on PATH. A NODE already set wins only if it runs
# here: `npm run` exports NODE with its own path, which means nothing on another machine
# (a command run over SSH or nsenter from an npm script carries it along).
thukho_find_node() {
  if [ -n "${NODE:-}" ] && command -v "$NODE" >/dev/null 2>&1; then return; fi
  if [ -x "$1/node/bin/node" ]; then NODE="$1/node/bin/node"; else NODE=node; fi
}
