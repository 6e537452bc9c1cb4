#!/usr/bin/env bash
# The Object Lock test target: moto's in-memory S3 server (moto 5, Python; present on the
# project's machines, see docs/local-s3.md). Swift, the main local S3, has no Object Lock; moto
# has, so the tests run the write-once paths against it. It keeps nothing on disk.
# Usage: scripts/s3-moto.sh start|stop|status   Environment: S3_MOTO_PORT (default 5055).
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${S3_MOTO_PORT:-5055}"
PIDFILE=.local/run/moto.pid
mkdir -p .local/run .local/logs

answering() { curl -fsS -m 2 -o /dev/null "http://127.0.0.1:${PORT}/" 2>/dev/null; }

case "${1:-status}" in
  start)
    if answering; then echo "s3-moto: already answering on 127.0.0.1:${PORT}"; exit 0; fi
    command -v moto_server >/dev/null || { echo "s3-moto: moto_server is not installed (moto 5: pip install 'moto[server]')" >&2; exit 3; }
    # Loopback only; nothing is persisted.
    nohup moto_server -H 127.0.0.1 -p "$PORT" >>.local/logs/moto.log 2>&1 &
    echo $! > "$PIDFILE"
    for _ in $(seq 1 60); do answering && break; sleep 0.25; done
    answering || { tail -n 20 .local/logs/moto.log >&2; echo "s3-moto: did not start" >&2; exit 1; }
    echo "s3-moto: ready at http://127.0.0.1:${PORT} (Object Lock test target, in memory)"
    ;;
  stop)
    if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then kill "$(cat "$PIDFILE")"; echo "s3-moto: stopped"; fi
    rm -f "$PIDFILE"
    ;;
  status)
    if answering; then echo "s3-moto: answering on 127.0.0.1:${PORT}"; else echo "s3-moto: not running"; exit 1; fi
    ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
