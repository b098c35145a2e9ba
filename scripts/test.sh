#!/usr/bin/env bash
# The full test suite: format, lints, then every test on SQLite, and on
# PostgreSQL too when HUIKUAN_TEST_PG names a server.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/ensure-deps.sh
./scripts/fetch-models.sh
export CARGO_TERM_COLOR=never
if [ -n "${HUIKUAN_TEST_PG:-}" ]; then
  echo "PostgreSQL tests: on ($HUIKUAN_TEST_PG)"
  # Databases left by earlier runs' tests.
  psql "$HUIKUAN_TEST_PG" -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'huikuan_t_%'" 2>/dev/null |
    while read -r db; do psql "$HUIKUAN_TEST_PG" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true; done
else
  echo "PostgreSQL tests: off (set HUIKUAN_TEST_PG=postgres://user@host:port/db to run them)"
fi
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --features huikuan-cli/talk -- -D warnings
cargo test --workspace
