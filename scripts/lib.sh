# Shared set-up for scripts/up.sh, scripts/test.sh and scripts/bench.sh (sourced, not run).
# Installs what is missing, makes sure PostgreSQL, Redis and an S3 server answer, and exports
# the environment pointing at them. A newcomer configures nothing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
mkdir -p .local/logs .local/run

say() { printf '\033[1m==>\033[0m %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

APT_UPDATED=0
apt_install() { # packages...
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    die "missing system packages: $*. Install them (Debian/Ubuntu: sudo apt-get install --no-install-recommends $*) and run again."
  fi
  if [ "$APT_UPDATED" = 0 ]; then say "apt-get update"; apt-get update -qq >/dev/null; APT_UPDATED=1; fi
  say "installing Debian packages: $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Any Node.js that can run npm starts the set-up; the project then runs on the Node.js version
# pinned in package-lock.json (the `node` package: Node 24 LTS), put first on PATH by
# use_locked_node once the packages are installed, so development, tests, CI and the image agree.
node_check() {
  command -v node >/dev/null && command -v npm >/dev/null \
    || die "Node.js and npm are required to start (any version from 20; the project then installs and uses its own Node 24 from package-lock.json)."
}

use_locked_node() {
  export PATH="$ROOT/node_modules/.bin:$PATH"
  hash -r
  node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 24 ? 0 : 1)' \
    || die "node_modules/.bin/node is not Node 24 ($(node -v)): run npm ci"
}

# ffmpeg/ffprobe for media, ewf-tools for E01, clients to check the services, Debian's Chromium for
# the web application's browser tests (never a downloaded browser); Swift for local S3.
ensure_packages() { # [with-swift]
  local want=() bin pkg
  for pair in ffmpeg:ffmpeg ffprobe:ffmpeg ewfverify:ewf-tools ewfinfo:ewf-tools curl:curl psql:postgresql-client \
              pg_isready:postgresql-client redis-cli:redis-tools heif-convert:libheif-examples heif-enc:libheif-examples \
              chromium:chromium; do
    bin=${pair%%:*}; pkg=${pair##*:}
    command -v "$bin" >/dev/null || want+=("$pkg")
  done
  # libs/media burns captions with this exact font file (court copies, contact sheets), in the
  # recorder's time zone (ffmpeg runs under TZ=<zone>, so the zone files must be there).
  [ -f /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf ] || want+=(fonts-dejavu-core)
  [ -f /usr/share/zoneinfo/Europe/London ] || want+=(tzdata)
  if [ "${1:-}" = with-swift ]; then
    for pair in swift-proxy-server:swift-proxy swift-object-server:swift-object swift-container-server:swift-container \
                swift-account-server:swift-account swift-ring-builder:swift memcached:memcached; do
      bin=${pair%%:*}; pkg=${pair##*:}
      command -v "$bin" >/dev/null || want+=("$pkg" swift)
    done
  fi
  if [ ${#want[@]} -gt 0 ]; then apt_install $(printf '%s\n' "${want[@]}" | sort -u); fi
}

# Installs the locked packages when the lock file's content changed since the last install (or
# in CI). The lock file's SHA-256 is kept in node_modules: an mtime comparison re-ran npm ci after
# every checkout. One install at a time per checkout (flock): two runs of the scripts at once
# must not both rewrite node_modules under each other.
ensure_node_modules() {
  local want have
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  exec 9>"$ROOT/.local/run/npm-install.lock"
  flock 9
  have=$(cat node_modules/.dems-lock-sha256 2>/dev/null || true)
  if [ "${CI:-}" = true ] || [ ! -d node_modules/.bin ]; then
    say "npm ci"
    npm ci --no-audit --no-fund --loglevel=error 2>.local/logs/npm-ci.log || install_locked \
      "npm ci refused the lock file (see .local/logs/npm-ci.log); installing the locked versions with npm install"
    echo "$want" > node_modules/.dems-lock-sha256
  elif [ "$want" != "$have" ]; then
    # A developer's tree: bring node_modules to the lock in place (npm ci would delete it under
    # any other process using it, such as a test run in another terminal).
    install_locked "package-lock.json changed: installing the locked versions"
    echo "$want" > node_modules/.dems-lock-sha256
  fi
  flock -u 9
  use_locked_node
}

# npm ci also insists on lock entries for other platforms' optional binaries; a registry mirror
# that lacks some of them makes it refuse a correct lock file. npm install then installs exactly
# the locked versions; the lock file must come out unchanged.
install_locked() { # message
  say "$1"
  cp package-lock.json .local/package-lock.before
  npm install --no-audit --no-fund --loglevel=error
  cmp -s package-lock.json .local/package-lock.before \
    || { cp .local/package-lock.before package-lock.json; die "npm install wanted to change package-lock.json; run npm install yourself and commit the lock file"; }
}

docker_engine() { [ "${DEMS_USE_DOCKER:-auto}" != no ] && command -v docker >/dev/null && docker info >/dev/null 2>&1; }

load_env() { # file
  set -a; . "$1"; set +a
}

# Makes sure PostgreSQL, Redis and S3 answer at the addresses in the environment.
ensure_services() {
  if docker_engine; then
    say "Docker engine found: starting postgres, redis and minio with docker compose"
    export DEMS_API_DB_PASSWORD="${DEMS_API_DB_PASSWORD:-dems-api-dev}"
    docker compose -f docker/compose.yaml up -d --wait postgres redis minio minio-init
    export DATABASE_OWNER_URL="postgres://dems:dems@127.0.0.1:${DEMS_PG_PORT:-15432}/${DEMS_DB_NAME:-dems}"
    export DATABASE_URL="postgres://dems_api:${DEMS_API_DB_PASSWORD}@127.0.0.1:${DEMS_PG_PORT:-15432}/${DEMS_DB_NAME:-dems}"
    export REDIS_URL="redis://127.0.0.1:${DEMS_REDIS_PORT:-16379}"
    export S3_ENDPOINT="http://127.0.0.1:${DEMS_MINIO_PORT:-19000}" S3_ACCESS_KEY_ID=dems S3_SECRET_ACCESS_KEY=dems-dev-secret
    return
  fi
  ensure_packages with-swift
  local pg_host pg_port
  pg_host=$(node -e 'console.log(new URL(process.argv[1]).hostname)' "$DATABASE_URL")
  pg_port=$(node -e 'console.log(new URL(process.argv[1]).port || 5432)' "$DATABASE_URL")
  if ! pg_isready -q -h "$pg_host" -p "$pg_port"; then
    if command -v pg_ctlcluster >/dev/null && ls /etc/postgresql >/dev/null 2>&1; then
      say "starting PostgreSQL"
      pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
      for _ in $(seq 1 30); do pg_isready -q -h "$pg_host" -p "$pg_port" && break; sleep 1; done
    fi
    pg_isready -q -h "$pg_host" -p "$pg_port" || die "PostgreSQL does not answer at $pg_host:$pg_port. Install and start it (Debian: apt-get install postgresql; pg_ctlcluster 15 main start) or set DATABASE_URL."
  fi
  local redis_host redis_port
  redis_host=$(node -e 'console.log(new URL(process.argv[1]).hostname)' "$REDIS_URL")
  redis_port=$(node -e 'console.log(new URL(process.argv[1]).port || 6379)' "$REDIS_URL")
  if ! redis-cli -h "$redis_host" -p "$redis_port" ping >/dev/null 2>&1; then
    if command -v redis-server >/dev/null; then
      say "starting Redis"
      redis-server --daemonize yes --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no --dir "$ROOT/.local" --logfile "$ROOT/.local/logs/redis.log"
      for _ in $(seq 1 20); do redis-cli -h "$redis_host" -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.5; done
    fi
    redis-cli -h "$redis_host" -p "$redis_port" ping >/dev/null 2>&1 || die "Redis does not answer at $redis_host:$redis_port. Install and start it (Debian: apt-get install redis-server) or set REDIS_URL."
  fi
  if [ -n "${S3_ENDPOINT:-}" ] && [[ "$S3_ENDPOINT" == http://127.0.0.1:* || "$S3_ENDPOINT" == http://localhost:* ]]; then
    S3_LOCAL_PORT="${S3_ENDPOINT##*:}" bash scripts/s3-local.sh start
  fi
}

# Creates, as the owner, the database named in DATABASE_OWNER_URL (else DATABASE_URL) if it does
# not exist (fresh=1: drop it first).
ensure_database() { # [fresh]
  local name admin owner="${DATABASE_OWNER_URL:-$DATABASE_URL}"
  name=$(node -e 'console.log(new URL(process.argv[1]).pathname.slice(1))' "$owner")
  admin=$(node -e 'const u=new URL(process.argv[1]); u.pathname="/postgres"; console.log(u.toString())' "$owner")
  [[ "$name" =~ ^[a-z_][a-z0-9_]*$ ]] || die "database name '$name' in DATABASE_URL must be lower-case letters, digits and _"
  if [ "${1:-}" = fresh ]; then psql -q "$admin" -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" >/dev/null; fi
  if [ -z "$(psql -tA "$admin" -c "SELECT 1 FROM pg_database WHERE datname = '$name'")" ]; then
    say "creating database $name"
    psql -q "$admin" -c "CREATE DATABASE $name" >/dev/null
  fi
}
