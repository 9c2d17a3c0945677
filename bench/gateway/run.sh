#!/usr/bin/env bash
# Compares, in one run, wrk against: a bare httputil.ReverseProxy, nginx
# as a plain proxy, lockgate's gateway with no rules, and with the blog's
# three rules (with and without a log record per request).
#   bash bench/gateway/run.sh [seconds] [rounds]
# Each round measures every server for `seconds` (default 5) in turn;
# `rounds` (default 3) interleaves them, so that a burst of load from
# elsewhere on a shared machine falls on all of them alike. It prints each
# measurement, then per server the median and its ratio to the bare
# proxy's median, and the bare proxy's spread across rounds: the noise of
# this run, which the ratios are only as good as.
# Needs wrk and nginx (apt-get install wrk nginx-light).
set -euo pipefail
dur="${1:-5}"
rounds="${2:-3}"
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
# to_ms turns wrk's latency (850.00us, 7.85ms, 1.20s) into milliseconds.
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /[0-9]s$/ && v !~ /ms$/) n *= 1000; printf "%.3f", n }'; }
results="$tmp/results" # label<TAB>req/s<TAB>p99 ms, one line a measurement
run() { # label port
  # warm up, then measure
  wrk -t2 -c64 -d1s -s "$here/clients.lua" "http://127.0.0.1:$2/" >/dev/null
  out="$(wrk -t2 -c64 -d"${dur}s" --latency -s "$here/clients.lua" "http://127.0.0.1:$2/")"
  rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
  p99="$(awk '$1=="99%" {print $2}' <<<"$out")"
  p50="$(awk '$1=="50%" {print $2}' <<<"$out")"
  non2xx="$(awk '/Non-2xx/ {print $5}' <<<"$out")"
  printf '%-38s %12s req/s   p50 %8s   p99 %8s   non-2xx %s\n' "$1" "$rps" "$p50" "$p99" "${non2xx:-0}"
  printf '%s\t%s\t%s\n' "$1" "$rps" "$(to_ms "$p99")" >> "$results"
}
nginx_label="nginx $(nginx -v 2>&1 | sed 's/.*nginx\///')"
echo "wrk -t2 -c64 -d${dur}s × $rounds rounds, 65,536 client IPs via X-Forwarded-For, $(nproc) cores, $(go version | awk '{print $3}')"
for round in $(seq "$rounds"); do
  echo "round $round"
  run "bare httputil.ReverseProxy" 19001
  run "$nginx_label" 19002
  run "lockgate, no rules" 19003
  run "lockgate, the blog's 3 rules" 19004
  run "lockgate, 3 rules + a log record each" 19005
done

# The medians and the ratios, which are what compares across runs on a
# shared machine.
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
col() { awk -F'\t' -v l="$1" -v c="$2" '$1 == l { print $c }' "$results"; }
bare="bare httputil.ReverseProxy"
base_rps=$(col "$bare" 2 | median)
base_p99=$(col "$bare" 3 | median)
spread=$(col "$bare" 2 | sort -g | awk -v m="$base_rps" 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.0f", 100 * (hi - lo) / m }')
echo
printf '%-38s %12s %10s %10s %12s\n' "median of $rounds rounds" "req/s" "p99 ms" "ratio" "p99 vs bare"
for label in "$bare" "$nginx_label" "lockgate, no rules" "lockgate, the blog's 3 rules" "lockgate, 3 rules + a log record each"; do
  rps=$(col "$label" 2 | median)
  p99=$(col "$label" 3 | median)
  awk -v l="$label" -v r="$rps" -v p="$p99" -v br="$base_rps" -v bp="$base_p99" \
    'BEGIN { printf "%-38s %12.0f %10.2f %10.2f %+11.2f\n", l, r, p, r / br, p - bp }'
done
echo "noise: the bare proxy's throughput spread over $rounds rounds is ${spread}% of its median"
if [ "$spread" -gt 15 ]; then
  echo "too noisy to compare (over 15%): something else is using the cores; run again when the machine is quiet"
fi
