#!/usr/bin/env bash
# One command from a fresh clone to a running service: dependencies, PostgreSQL/Redis/S3,
# migrations, the demo administrator, API and worker. Stop with `npm run down`.
source "$(dirname "$0")/lib.sh"

node_check
if [ ! -f .env ]; then cp .env.example .env; chmod 600 .env; say "created .env from .env.example (edit it to change settings)"; fi
# The web application's session secret, once per installation (signs its session cookie).
if ! grep -q '^WEB_SESSION_SECRET=.' .env; then
  sed -i '/^WEB_SESSION_SECRET=/d' .env
  echo "WEB_SESSION_SECRET=$(node -e 'console.log(require("node:crypto").randomBytes(32).toString("base64url"))')" >> .env
fi
ensure_packages
ensure_node_modules
say "building"
npm run --silent build
# This installation's own token and ledger signing secrets (never the published examples).
node dist/apps/cli/main.js admin init-secrets --dotenv .env | sed 's/^/    /'
# An .env from before the API and worker had a database role of their own: its one URL stays the
# owner's (migrations) and DATABASE_URL becomes dems_api's, which `dems admin migrate` creates.
if grep -q '^DATABASE_URL=' .env && ! grep -q '^DATABASE_OWNER_URL=' .env; then
  node -e '
    const fs = require("node:fs");
    const text = fs.readFileSync(".env", "utf8");
    const owner = /^DATABASE_URL=(.*)$/m.exec(text)[1].trim();
    const app = Object.assign(new URL(owner), { username: "dems_api", password: "" });
    fs.writeFileSync(".env", text.replace(/^DATABASE_URL=.*$/m, () => `DATABASE_URL=${app}\nDATABASE_OWNER_URL=${owner}`), { mode: 0o600 });'
  say "the API and worker now connect as dems_api (DATABASE_URL); migrations as the owner (DATABASE_OWNER_URL, your old DATABASE_URL)"
fi
load_env .env
ensure_services
ensure_database
say "applying migrations (as the owner) and setting up the API's database role"
node dist/apps/cli/main.js admin migrate
admin_msg=$(node dist/apps/cli/main.js admin create-admin)

bash scripts/down.sh --quiet
say "starting API, worker and web application (logs in .local/logs/)"
nohup node --no-memory-reducer --max-semi-space-size=4 dist/apps/api/main.js >>.local/logs/api.log 2>&1 &
echo $! > .local/run/api.pid
nohup node --max-semi-space-size=4 --optimize-for-size dist/apps/worker/main.js >>.local/logs/worker.log 2>&1 &
echo $! > .local/run/worker.pid
nohup node dist/apps/web/main.js >>.local/logs/web.log 2>&1 &
echo $! > .local/run/web.pid

base="http://${API_HOST:-127.0.0.1}:${API_PORT:-3000}"
[ "${API_HOST:-}" = 0.0.0.0 ] && base="http://127.0.0.1:${API_PORT:-3000}"
for _ in $(seq 1 60); do
  if curl -fsS -m 2 "$base/health/ready" >/dev/null 2>&1; then break; fi
  kill -0 "$(cat .local/run/api.pid)" 2>/dev/null || { tail -n 20 .local/logs/api.log >&2; die "the API stopped during start-up (see .local/logs/api.log)"; }
  sleep 1
done
curl -fsS -m 2 "$base/health/ready" >/dev/null || die "the API did not become ready; see .local/logs/api.log and curl $base/health/ready"
kill -0 "$(cat .local/run/worker.pid)" 2>/dev/null || { tail -n 20 .local/logs/worker.log >&2; die "the worker stopped during start-up (see .local/logs/worker.log)"; }
web="http://${WEB_HOST:-127.0.0.1}:${WEB_PORT:-3001}"
[ "${WEB_HOST:-}" = 0.0.0.0 ] && web="http://127.0.0.1:${WEB_PORT:-3001}"
for _ in $(seq 1 30); do curl -fsS -m 2 "$web/health/live" >/dev/null 2>&1 && break; sleep 1; done
curl -fsS -m 2 "$web/health/live" >/dev/null || { tail -n 20 .local/logs/web.log >&2; die "the web application did not start (see .local/logs/web.log)"; }

storage=$(curl -fsS "$base/api/v1/system" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).storage.note))')
cat <<MSG

  Evidence service is running.
    Web            $web/   (sign in as the administrator below)
    API            $base/api/v1
    API docs       $base/api/docs   (OpenAPI JSON: $base/api/docs-json)
    Health         $base/health/ready
    Administrator  $admin_msg
    Storage        $storage
    Logs           .local/logs/api.log, .local/logs/worker.log, .local/logs/web.log
  Stop with: npm run down

MSG
