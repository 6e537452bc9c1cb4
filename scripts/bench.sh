#!/usr/bin/env bash
# Benchmarks against the real services: each measures our path and its baseline in the same run
# and prints a table (figure, ours, baseline, ratio, target) plus JSON under bench/results/.
# Usage: npm run bench [-- storage-stream --size-mb 256]
source "$(dirname "$0")/lib.sh"

node_check
load_env .env.example
export NODE_ENV=test LOG_LEVEL=warn S3_BUCKET_ORIGINALS=dems-bench-originals S3_BUCKET_WORKING=dems-bench-working
# Rate limits out of the way: a benchmark measures the service, not its throttle.
export RATE_LIMIT_AUTH=1000000/1s RATE_LIMIT_READ=1000000/1s RATE_LIMIT_WRITE=1000000/1s RATE_LIMIT_UPLOAD=1000000/1s RATE_LIMIT_EXPENSIVE=1000000/1s
ensure_packages
ensure_node_modules
say "build"; npm run --silent build
# Signing secrets of the bench's own, kept between runs like its database.
node dist/apps/cli/main.js admin init-secrets --dotenv .local/bench-secrets.env --origin bench.local/ledger >/dev/null
load_env .local/bench-secrets.env
ensure_services
# A database of its own, seeded by the benchmarks that need data (kept between runs). The
# benchmarks create and migrate databases, so they connect as the owner.
export DATABASE_URL="${DATABASE_OWNER_URL%/*}/dems_bench"
unset DATABASE_OWNER_URL
ensure_database
node --expose-gc dist/bench/run.js "$@"
