#!/usr/bin/env bash
# Benchmarks against the real services: each measures our path and its baseline in the same run
# and prints a table (figure, ours, baseline, ratio, target) plus JSON under bench/results/.
# Usage: npm run bench [-- storage-stream --size-mb 256]
source "$(dirname "$0")/lib.sh"

node_check
load_env .env.example
export NODE_ENV=test LOG_LEVEL=warn S3_BUCKET_ORIGINALS=dems-bench-originals S3_BUCKET_WORKING=dems-bench-working
ensure_packages
ensure_node_modules
ensure_services
# A database of its own, seeded by the benchmarks that need data (kept between runs).
export DATABASE_URL="${DATABASE_URL%/*}/dems_bench"
ensure_database
say "build"; npm run --silent build
node --expose-gc dist/bench/run.js "$@"
