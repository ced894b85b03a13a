#!/usr/bin/env bash
# The graphql-http server audits against target/debug/chronicle (built by
# `cargo test` before this runs in .ci/run).
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x ../target/debug/chronicle ]; then
    (cd .. && cargo build --quiet --bin chronicle)
fi
npm ci --no-audit --no-fund
node audit.mjs
