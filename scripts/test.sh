#!/usr/bin/env bash
# The whole test suite, with its own set-up: lint, type-check, build, then every jest suite
# (unit, integration, e2e) against real PostgreSQL, Redis, the local S3 and ffmpeg.
# Extra arguments go to jest (e.g. npm test -- test/integration/storage).
source "$(dirname "$0")/lib.sh"

node_check
# Tests use .env.example's defaults (never a developer's .env) with their own database,
# queue prefix and buckets, so they cannot touch a running development service's data.
load_env .env.example
# DEMS_TEST_ID names this run's database, queue prefix and buckets (default: test), so two runs on
# one machine (two developers, or a developer and CI) do not recreate each other's database.
TEST_ID="${DEMS_TEST_ID:-test}"
[[ "$TEST_ID" =~ ^[a-z0-9]{1,20}$ ]] || die "DEMS_TEST_ID must be 1-20 lower-case letters or digits"
export NODE_ENV=test LOG_LEVEL=silent QUEUE_PREFIX="dems-$TEST_ID" \
  S3_BUCKET_ORIGINALS="dems-$TEST_ID-originals" S3_BUCKET_WORKING="dems-$TEST_ID-working" DEMO_ADMIN_PASSWORD=
# Rate limits out of the way: the suites share one client address and run at once (the
# rate-limit tests set their own small limits).
export RATE_LIMIT_AUTH=1000000/1s RATE_LIMIT_READ=1000000/1s RATE_LIMIT_WRITE=1000000/1s RATE_LIMIT_UPLOAD=1000000/1s RATE_LIMIT_EXPENSIVE=1000000/1s
ensure_packages
ensure_node_modules
# DEMS_TEST_QUICK=1 (development only, while a colleague's half-done change fails the type check):
# build what compiles, skip lint and the type check. CI never sets it.
QUICK="${DEMS_TEST_QUICK:-}"
[ "${CI:-}" = true ] && QUICK=
say "build"; if [ -n "$QUICK" ]; then npm run --silent build || say "build had type errors (DEMS_TEST_QUICK)"; else npm run --silent build; fi
# Fresh signing secrets for every run: .env.example publishes none.
rm -f ".local/test-secrets-$TEST_ID.env"
node dist/apps/cli/main.js admin init-secrets --dotenv ".local/test-secrets-$TEST_ID.env" --origin "test.local/$TEST_ID/ledger" >/dev/null
load_env ".local/test-secrets-$TEST_ID.env"
ensure_services
# The Object Lock target (moto): CI must exercise the write-once paths; a developer without moto
# is told which suites are skipped.
if bash scripts/s3-moto.sh start; then
  export DEMS_TEST_MOTO_ENDPOINT="http://127.0.0.1:${S3_MOTO_PORT:-5055}"
elif [ "${CI:-}" = true ]; then
  die "moto_server is needed in CI: the Object Lock suites run against it"
else
  say "moto_server not available: the Object Lock suites (write-once originals and checkpoints) are SKIPPED"
fi
# Migrations run as the owner; the API, worker and tests connect, as in production, as a login
# role in dems_app that `dems admin migrate` creates: one per test id, since roles are server-wide
# and two runs must not create the same one at once.
export DATABASE_OWNER_URL="${DATABASE_OWNER_URL%/*}/dems_$TEST_ID"
DATABASE_URL=$(node -e 'const u = new URL(process.argv[1]); u.username = process.argv[2]; u.pathname = process.argv[3]; console.log(u.toString())' \
  "$DATABASE_URL" "dems_api_$TEST_ID" "/dems_$TEST_ID")
export DATABASE_URL
ensure_database fresh
node dist/apps/cli/main.js admin migrate | sed 's/^/    /'
redis-cli -u "$REDIS_URL" --scan --pattern "dems-$TEST_ID:*" | xargs -r redis-cli -u "$REDIS_URL" del >/dev/null 2>&1 || true

if [ -z "$QUICK" ]; then
  say "lint"; npm run --silent lint
  say "type-check"; npm run --silent typecheck
fi
say "jest: unit, integration, e2e"
status=0
node --experimental-vm-modules --no-warnings node_modules/jest/bin/jest.js --runInBand \
  --json --outputFile=".local/jest-results-$TEST_ID.json" "$@" || status=$?
node -e '
  const r = require(process.argv[1]);
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped`);
' "$ROOT/.local/jest-results-$TEST_ID.json" 2>/dev/null || true
exit $status
