#!/usr/bin/env bash
# Runs the blog's web ACL in front of a demo shop: one command, Go only.
#   bash examples/blog/run.sh
# Then, from another terminal, flood /login from one client:
#   for i in $(seq 200); do curl -s -o /dev/null -w '%{http_code}\n' -X POST \
#     -H 'X-Forwarded-For: 203.0.113.7' http://127.0.0.1:8000/login; done | sort | uniq -c
# 150 × 200, then 403: the /login rule. Other paths and clients still pass.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$bin"' EXIT
(cd "$root" && go build -o "$bin/lockgate" ./cmd/lockgate && go build -o "$bin/upstream" ./examples/blog/upstream)
"$bin/upstream" -listen "${UPSTREAM_LISTEN:-127.0.0.1:9000}" &
cd "$here"
"$bin/lockgate" serve --config lockgate.yaml
