#!/usr/bin/env bash
# Installs what building and testing need, from the package registries only, skipping
# whatever is already there. Usage: scripts/install-tools.sh [build|test]
set -euo pipefail
what="${1:-build}"
cd "$(dirname "$0")/.."

need_apt=()
have() { command -v "$1" >/dev/null 2>&1; }

rustup target list --installed 2>/dev/null | grep -q wasm32-unknown-unknown \
  || rustup target add wasm32-unknown-unknown

# wasm-bindgen-cli must match the wasm-bindgen version in Cargo.lock exactly.
wb_version=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/"/,"",$3); print $3}' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q " $wb_version$"; then
  cargo install wasm-bindgen-cli --version "$wb_version"
fi
# wasm-pack 0.15.1: `make build` and `make test-wasm` use its `--profile web`.
if ! wasm-pack --version 2>/dev/null | grep -q " 0.15.1$"; then
  cargo install wasm-pack --version 0.15.1
fi
# wasm-opt from npm binaryen (tools/binaryen/package.json), run by scripts/wasm-opt.sh; never
# Debian's binaryen 108, which corrupts wasm-bindgen output.
if ! tools/binaryen/node_modules/.bin/wasm-opt --version 2>/dev/null | grep -q "version 132 "; then
  (cd tools/binaryen && npm ci --no-audit --no-fund)
fi

if [ "$what" = test ]; then
  have chromium || need_apt+=(chromium)
  have chromedriver || need_apt+=(chromium-driver)
  have firefox-esr || have firefox || need_apt+=(firefox-esr)
  [ -e /usr/share/vulkan/icd.d/lvp_icd.x86_64.json ] || need_apt+=(mesa-vulkan-drivers)
  if [ ${#need_apt[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
  fi
  have geckodriver || cargo install geckodriver
  if [ ! -d tests/e2e/node_modules/playwright-core ]; then
    (cd tests/e2e && npm ci --no-audit --no-fund)
  fi
fi
