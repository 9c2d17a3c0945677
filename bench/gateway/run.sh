#!/usr/bin/env bash
# Compares, in one run, wrk against: a bare httputil.ReverseProxy, nginx
# as a plain proxy, lockgate's gateway with no rules, and with the blog's
# three rules (with and without a log record per request).
#   bash bench/gateway/run.sh [seconds]
# Needs wrk and nginx (apt-get install wrk nginx-light).
set -euo pipefail
dur="${1:-10}"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tmp="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; [ -f "$tmp/nginx.pid" ] && kill "$(cat "$tmp/nginx.pid")" 2>/dev/null || true; rm -rf "$tmp"' EXIT
(cd "$root" && go build -o "$tmp/lockgate" ./cmd/lockgate)
(cd "$root/bench" && go build -o "$tmp/upstream" ./gateway/upstream && go build -o "$tmp/bareproxy" ./gateway/bareproxy)
"$tmp/upstream" -listen 127.0.0.1:19000 & 
"$tmp/bareproxy" -listen 127.0.0.1:19001 2>/dev/null &
cat > "$tmp/nginx.conf" <<NGINX
worker_processes auto;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  upstream app { server 127.0.0.1:19000; keepalive 256; }
  server {
    listen 127.0.0.1:19002;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    }
  }
}
NGINX
nginx -c "$tmp/nginx.conf"
cp "$root/waf/testdata/blog-acl.json" "$tmp/"
printf '198.51.100.0/24\n' > "$tmp/reputation.txt"
gw() { # name port acl log
  mkdir -p "$tmp/$1"
  cat > "$tmp/$1/lockgate.yaml" <<YAML
listen: 127.0.0.1:$(( $2 + 100 ))
data_dir: $tmp/$1/data
log: {level: warn}
gateway:
  listen: 127.0.0.1:$2
  trusted_proxies: ["127.0.0.1/32"]
  log: {file: "$4"}
  routes:
    - name: shop
      upstreams: [http://127.0.0.1:19000]
      web_acl: "$3"
waf:
  ip_reputation_file: $tmp/reputation.txt
YAML
  "$tmp/lockgate" serve --config "$tmp/$1/lockgate.yaml" 2>"$tmp/$1/stderr" &
}
gw norules 19003 "" ""
gw rules 19004 "$tmp/blog-acl.json" ""
gw ruleslog 19005 "$tmp/blog-acl.json" "$tmp/ruleslog/waf.log"
sleep 3
labels=() rpss=() p99s=()
# to_ms turns wrk's latency (850.00us, 7.85ms, 1.20s) into milliseconds.
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /[0-9]s$/ && v !~ /ms$/) n *= 1000; printf "%.3f", n }'; }
run() { # label port
  # warm up, then measure
  wrk -t2 -c64 -d2s -s "$here/clients.lua" "http://127.0.0.1:$2/" >/dev/null
  out="$(wrk -t2 -c64 -d"${dur}s" --latency -s "$here/clients.lua" "http://127.0.0.1:$2/")"
  rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
  p99="$(awk '$1=="99%" {print $2}' <<<"$out")"
  p50="$(awk '$1=="50%" {print $2}' <<<"$out")"
  non2xx="$(awk '/Non-2xx/ {print $5}' <<<"$out")"
  printf '%-38s %12s req/s   p50 %8s   p99 %8s   non-2xx %s\n' "$1" "$rps" "$p50" "$p99" "${non2xx:-0}"
  labels+=("$1") rpss+=("$rps") p99s+=("$(to_ms "$p99")")
}
echo "wrk -t2 -c64 -d${dur}s, 65,536 client IPs via X-Forwarded-For, $(nproc) cores, $(go version | awk '{print $3}')"
run "bare httputil.ReverseProxy" 19001
run "nginx $(nginx -v 2>&1 | sed 's/.*nginx\///')" 19002
run "lockgate, no rules" 19003
run "lockgate, the blog's 3 rules" 19004
run "lockgate, 3 rules + a log record each" 19005
run "bare httputil.ReverseProxy (again)" 19001

# The ratios, which are what compares across runs on a shared machine: each
# server against the bare proxy's mean (its first and last runs).
last=$(( ${#rpss[@]} - 1 ))
base_rps=$(awk -v a="${rpss[0]}" -v b="${rpss[$last]}" 'BEGIN { printf "%.0f", (a + b) / 2 }')
base_p99=$(awk -v a="${p99s[0]}" -v b="${p99s[$last]}" 'BEGIN { printf "%.2f", (a + b) / 2 }')
echo
echo "against the bare proxy (mean of its first and last runs: $base_rps req/s, p99 $base_p99 ms):"
for i in $(seq 1 $(( last - 1 ))); do
  awk -v l="${labels[$i]}" -v r="${rpss[$i]}" -v p="${p99s[$i]}" -v br="$base_rps" -v bp="$base_p99" \
    'BEGIN { printf "%-38s throughput ratio %5.2f   p99 %+6.2f ms\n", l, r / br, p - bp }'
done
