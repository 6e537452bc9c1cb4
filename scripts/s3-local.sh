#!/usr/bin/env bash
# Local S3 for development, tests and CI: OpenStack Swift with its s3api middleware, from Debian
# packages, all-in-one with one replica, data under one folder (recipe: docs/local-s3.md).
# Usage: scripts/s3-local.sh start|stop|status
# Environment: SWIFT_DIR (default .local/swift), S3_LOCAL_PORT (8080), S3_LOCAL_ACCOUNT/USER/KEY.
set -euo pipefail
cd "$(dirname "$0")/.."
S="${SWIFT_DIR:-$PWD/.local/swift}"
PORT="${S3_LOCAL_PORT:-8080}"
ACCOUNT="${S3_LOCAL_ACCOUNT:-dems}"
USER_NAME="${S3_LOCAL_USER:-dev}"
KEY="${S3_LOCAL_KEY:-dems-dev-secret}"
RUN_USER="$(id -un)"

healthy() { curl -fsS -m 2 "http://127.0.0.1:${PORT}/healthcheck" 2>/dev/null | grep -q OK; }

write_config() {
  mkdir -p "$S/etc" "$S/data/d1" "$S/run" "$S/log"
  cat > "$S/etc/swift.conf" <<CONF
[swift-hash]
swift_hash_path_suffix = dems-local
swift_hash_path_prefix = dems-local

[storage-policy:0]
name = Policy-0
default = yes
CONF
  local t port
  for t in account container object; do
    case $t in account) port=6202;; container) port=6201;; object) port=6200;; esac
    cat > "$S/etc/$t-server.conf" <<CONF
[DEFAULT]
user = $RUN_USER
devices = $S/data
mount_check = false
bind_ip = 127.0.0.1
bind_port = $port
workers = 1
swift_dir = $S/etc
log_facility = LOG_LOCAL0
log_level = WARNING

[pipeline:main]
pipeline = $t-server

[app:$t-server]
use = egg:swift#$t

[$t-replicator]

[$t-auditor]

[$t-updater]
CONF
    if [ ! -f "$S/etc/$t.ring.gz" ]; then
      (cd "$S/etc" && swift-ring-builder "$t.builder" create 0 1 1 >/dev/null \
        && swift-ring-builder "$t.builder" add "r1z1-127.0.0.1:$port/d1" 1 >/dev/null \
        && swift-ring-builder "$t.builder" rebalance >/dev/null || true)
    fi
  done
  cat > "$S/etc/proxy-server.conf" <<CONF
[DEFAULT]
user = $RUN_USER
bind_ip = 127.0.0.1
bind_port = $PORT
workers = 1
swift_dir = $S/etc
log_level = WARNING

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo versioned_writes symlink proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:s3api]
use = egg:swift#s3api
location = us-east-1
s3_acl = false

[filter:tempauth]
use = egg:swift#tempauth
user_${ACCOUNT}_${USER_NAME} = ${KEY} .admin

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:11211

[filter:versioned_writes]
use = egg:swift#versioned_writes
allow_object_versioning = true

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:healthcheck]
use = egg:swift#healthcheck

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:copy]
use = egg:swift#copy

[filter:slo]
use = egg:swift#slo

[filter:dlo]
use = egg:swift#dlo

[filter:symlink]
use = egg:swift#symlink
CONF
}

start_one() { # name binary conf
  local name=$1 bin=$2 conf=$3 pidf="$S/run/$1.pid"
  if [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then return 0; fi
  nohup "$bin" "$conf" >>"$S/log/$name.log" 2>&1 &
  echo $! > "$pidf"
}

start() {
  if healthy; then echo "s3-local: Swift S3 already answering on 127.0.0.1:${PORT}"; return 0; fi
  for b in swift-proxy-server swift-object-server swift-container-server swift-account-server swift-ring-builder memcached; do
    command -v "$b" >/dev/null || { echo "s3-local: '$b' is missing; install the Debian packages: swift swift-proxy swift-account swift-container swift-object memcached" >&2; exit 1; }
  done
  write_config
  if ! (exec 3<>/dev/tcp/127.0.0.1/11211) 2>/dev/null; then
    memcached -d -u "$RUN_USER" -l 127.0.0.1 -p 11211 -P "$S/run/memcached.pid"
  fi
  start_one object swift-object-server "$S/etc/object-server.conf"
  start_one container swift-container-server "$S/etc/container-server.conf"
  start_one account swift-account-server "$S/etc/account-server.conf"
  start_one proxy swift-proxy-server "$S/etc/proxy-server.conf"
  for _ in $(seq 1 60); do
    if healthy; then echo "s3-local: Swift S3 ready at http://127.0.0.1:${PORT} (data in $S)"; return 0; fi
    sleep 0.5
  done
  echo "s3-local: Swift did not become healthy; logs in $S/log" >&2
  tail -n 20 "$S"/log/*.log >&2 || true
  exit 1
}

stop() {
  local n
  for n in proxy account container object; do
    if [ -f "$S/run/$n.pid" ]; then kill "$(cat "$S/run/$n.pid")" 2>/dev/null || true; rm -f "$S/run/$n.pid"; fi
  done
  echo "s3-local: stopped"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) if healthy; then echo "running"; else echo "stopped"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
