#!/usr/bin/env bash
# Stops the API, worker and web application started by `npm run up` (SIGTERM: in-flight work finishes first).
# --all also stops the local Swift S3 and the moto Object Lock test server.
cd "$(dirname "$0")/.."
quiet=0; all=0
for a in "$@"; do case $a in --quiet) quiet=1;; --all) all=1;; esac; done
for n in web api worker; do
  f=.local/run/$n.pid
  if [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null; then
    kill -TERM "$(cat "$f")"
    for _ in $(seq 1 60); do kill -0 "$(cat "$f")" 2>/dev/null || break; sleep 0.5; done
    [ $quiet = 1 ] || echo "stopped $n"
  fi
  rm -f "$f"
done
if [ $all = 1 ]; then bash scripts/s3-local.sh stop; bash scripts/s3-moto.sh stop; fi
exit 0
