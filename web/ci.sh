#!/usr/bin/env bash
# CI for the console (run by .ci/run after `cargo test`, which builds
# target/debug/chronicle): Chromium, npm ci, the codegen and bundle
# freshness checks, the build and the browser tests. Any failure fails CI.
set -euo pipefail
cd "$(dirname "$0")"

step() { printf '\n==> web: %s\n' "$*"; }

if [ ! -x /usr/bin/chromium ]; then
    step "installing Debian's chromium"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
fi
/usr/bin/chromium --version

step "npm ci"
npm ci --no-audit --no-fund

step "codegen is up to date with ../schema.graphql and src/"
npm run --silent codegen:check

step "build (typecheck + vite)"
npm run --silent build

step "the committed bundle (web/dist) is what the build makes"
if ! git diff --exit-code --stat -- dist || [ -n "$(git status --porcelain -- dist)" ]; then
    git status --short -- dist
    echo "web/dist is stale: run 'npm --prefix web run build' and commit web/dist" >&2
    exit 1
fi

step "browser tests"
bin="${CHRONICLE_BIN:-../target/debug/chronicle}"
if [ ! -x "$bin" ]; then
    echo "no server binary at $bin: run 'cargo build' first (CI's 'cargo test' builds it)" >&2
    exit 1
fi
npm test
