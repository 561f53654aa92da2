#!/usr/bin/env bash
# Installs the three official/community Alipay client SDKs used by the interop tests.
#
#   INTEROP_DIR (default: <repo>/target/interop)
#     venv-official/  PyPI alipay-sdk-python==3.7.1411 (+ its deps rsa, pycryptodome)
#     venv-fzlee/     PyPI python-alipay-sdk==3.4.0   (+ its deps pycryptodomex, pyOpenSSL)
#     node/           npm alipay-sdk@4.14.0 via `npm ci` from interop/node/package-lock.json
#
# Idempotent: each env has a marker file recording what was installed; a second run
# with unchanged inputs prints nothing and does nothing.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
INTEROP_DIR="${INTEROP_DIR:-$REPO/target/interop}"
PYTHON="${PYTHON:-python3}"
mkdir -p "$INTEROP_DIR"

# Serialise concurrent runs (e.g. several test binaries calling setup at once).
if command -v flock >/dev/null 2>&1; then
    exec 9>"$INTEROP_DIR/.setup.lock"
    flock 9
fi

log() { echo "interop/setup.sh: $*" >&2; }

# setup_venv NAME MARKER-CONTENT PACKAGES...
setup_venv() {
    local name="$1" want="$2"; shift 2
    local dir="$INTEROP_DIR/$name" marker="$INTEROP_DIR/$name/.hongbao-installed"
    if [[ -f "$marker" && "$(cat "$marker")" == "$want" && -x "$dir/bin/python" ]]; then
        return 0
    fi
    log "creating $dir ($*)"
    rm -rf "$dir"
    "$PYTHON" -m venv "$dir"
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "$@" >&2
    printf '%s' "$want" > "$marker"
}

# Official SDK: wheel metadata says Requires-Dist: pycryptodome, rsa (versions unpinned there;
# pinned here for reproducibility).
OFFICIAL_PKGS=(alipay-sdk-python==3.7.1411 rsa==4.9 pycryptodome==3.20.0)
# fzlee SDK: setup.py install_requires = pycryptodomex>=3.15.0, pyOpenSSL>=22.0.0.
FZLEE_PKGS=(python-alipay-sdk==3.4.0 pycryptodomex==3.20.0 pyOpenSSL==24.2.1)

setup_venv venv-official "v1 ${OFFICIAL_PKGS[*]}" "${OFFICIAL_PKGS[@]}"
setup_venv venv-fzlee "v1 ${FZLEE_PKGS[*]}" "${FZLEE_PKGS[@]}"

# Node: copy package.json + lock into $INTEROP_DIR/node and `npm ci` there (the lock has no
# `resolved` URLs, so packages come from the configured npm registry; no install scripts).
NODE_DIR="$INTEROP_DIR/node"
NODE_MARKER="$NODE_DIR/.hongbao-installed"
node_want="v1 $(cat "$HERE/node/package.json" "$HERE/node/package-lock.json" | sha256sum | cut -d' ' -f1)"
if [[ ! -f "$NODE_MARKER" || "$(cat "$NODE_MARKER")" != "$node_want" || ! -d "$NODE_DIR/node_modules/alipay-sdk" ]]; then
    log "installing npm alipay-sdk into $NODE_DIR"
    mkdir -p "$NODE_DIR"
    rm -rf "$NODE_DIR/node_modules"
    cp "$HERE/node/package.json" "$HERE/node/package-lock.json" "$NODE_DIR/"
    npm ci --prefix "$NODE_DIR" --ignore-scripts --no-audit --no-fund --loglevel=error >&2
    printf '%s' "$node_want" > "$NODE_MARKER"
fi
