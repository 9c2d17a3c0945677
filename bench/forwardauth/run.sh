#!/usr/bin/env bash
# Compares, in one run, wrk against: nginx alone in front of an upstream,
# nginx asking lockgate's forward auth for every request (auth_request,
# keep-alive to lockgate, the configuration of docs/integrations.md), and
# lockgate's own gateway — both lockgates with the blog's three rules.
#   bash bench/forwardauth/run.sh [seconds] [rounds]
# Each round measures every server for `seconds` (default 5) in turn;
# `rounds` (default 3) interleaves them, so that load from elsewhere on a
# shared machine falls on all of them alike. It prints each measurement,
# then per server the median and its ratio to nginx alone, and nginx's
# spread across rounds: the noise of this run. Each measurement also says
# the CPU time lockgate and nginx's workers spent per request (µs/req,
# from /proc/<pid>/stat): moderate load from elsewhere (a load average up
# to about 10 on 2 cores) slows a process more than it changes what a
# request costs it, so this is the figure to compare two builds by on a
# shared machine, interleaved; under heavy load the Go runtime's
# scheduling cost per request grows too (docs/benchmarks.md).
# Needs wrk and nginx (apt-get install wrk nginx).
# Knobs, to measure one lever at a time against the same command:
#   NGINX_WORKERS       nginx's worker_processes (default as docs/integrations.md
#                       advises: 1 on a host of 2 cores or fewer, else auto;
#                       nginx alone runs with it too)
#   FA_KEEPALIVE        idle connections per nginx worker to lockgate (default 256)
#   LOCKGATE_GOMAXPROCS GOMAXPROCS of lockgate (default: the runtime's)
#   ONLY                "fwd" measures nginx alone and nginx + lockgate only
#   LOCKGATE_BIN        a lockgate binary to run instead of building this tree's
#   LOCKGATE_SCHED      lockgate's scheduling policy: "batch" (SCHED_BATCH, as
#                       CPUSchedulingPolicy=batch in its systemd unit) or
#                       "other" (the default, SCHED_OTHER)
#   FA_ACCESS_LOG       a file (absolute path) for an access log of nginx + lockgate: per request
#                       nginx's $request_time, the subrequest's
#                       $upstream_response_time (lockgate as nginx sees it)
#                       and the application's, in seconds; a diagnostic (it
#                       costs nginx CPU), summarised at the end
set -euo pipefail
workers="${NGINX_WORKERS:-}"
if [ -z "$workers" ]; then
  workers=auto
  if [ "$(nproc)" -le 2 ]; then workers=1; fi
fi
fa_keepalive="${FA_KEEPALIVE:-256}"
sched="${LOCKGATE_SCHED:-other}"
fa_log_format="" fa_log="" fa_log_set=""
if [ -n "${FA_ACCESS_LOG:-}" ]; then
  fa_log_format="log_format lockgate_times '\$request_time \$lockgate_time \$upstream_response_time';"
  fa_log="access_log $FA_ACCESS_LOG lockgate_times buffer=256k;"
  fa_log_set="auth_request_set \$lockgate_time \$upstream_response_time;"
fi
case "$sched" in
  batch | other) ;;
  *) echo "LOCKGATE_SCHED is batch or other, not $sched" >&2; exit 2 ;;
esac
dur="${1:-5}"
rounds="${2:-3}"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tmp="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; [ -f "$tmp/nginx.pid" ] && kill "$(cat "$tmp/nginx.pid")" 2>/dev/null || true; rm -rf "$tmp"' EXIT
if [ -n "${LOCKGATE_BIN:-}" ]; then cp "$LOCKGATE_BIN" "$tmp/lockgate"; else (cd "$root" && go build -o "$tmp/lockgate" ./cmd/lockgate); fi
(cd "$root/bench" && go build -o "$tmp/upstream" ./gateway/upstream)
"$tmp/upstream" -listen 127.0.0.1:19100 &
mkdir -p "$tmp/tmp"
# nginx alone on 19101; nginx + lockgate on 19102. The loopback plays the
# CDN whose X-Forwarded-For names the client (the realip module), and
# nginx sends lockgate that one address, as docs/integrations.md says.
cat > "$tmp/nginx.conf" <<NGINX
worker_processes $workers;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $tmp/tmp/body;
  proxy_temp_path $tmp/tmp/proxy;
  fastcgi_temp_path $tmp/tmp/fastcgi;
  uwsgi_temp_path $tmp/tmp/uwsgi;
  scgi_temp_path $tmp/tmp/scgi;
  set_real_ip_from 127.0.0.1;
  real_ip_header X-Forwarded-For;
  upstream app { server 127.0.0.1:19100; keepalive 256; }
  upstream lockgate { server 127.0.0.1:19103; keepalive $fa_keepalive; }
  server {
    listen 127.0.0.1:19101;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$remote_addr;
    }
  }
  $fa_log_format
  server {
    listen 127.0.0.1:19102;
    $fa_log
    location / {
      auth_request /_lockgate;
      $fa_log_set
      auth_request_set \$waf_api \$upstream_http_x_amzn_waf_api;
      proxy_set_header x-amzn-waf-api \$waf_api;
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$remote_addr;
    }
    location = /_lockgate {
      internal;
      proxy_pass http://lockgate/nginx;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-Method \$request_method;
      proxy_set_header X-Original-URI \$request_uri;
      proxy_set_header X-Original-Host \$host;
      proxy_set_header X-Original-Proto \$scheme;
      proxy_set_header X-Original-Protocol \$server_protocol;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      # As docs/integrations.md's location = /_lockgate: the headers the
      # application gets, and the timeouts.
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header X-Forwarded-For \$remote_addr;
      proxy_set_header X-Real-IP \$remote_addr;
      proxy_set_header X-Forwarded-Host \$host;
      proxy_set_header X-Forwarded-Proto \$scheme;
      proxy_set_header X-Forwarded-Port "";
      proxy_set_header X-Forwarded-Prefix "";
      proxy_set_header Forwarded "";
      proxy_set_header True-Client-IP "";
      proxy_set_header CF-Connecting-IP "";
      proxy_set_header X-Client-IP "";
      proxy_set_header X-HTTP-Method-Override "";
      proxy_set_header X-Method-Override "";
      proxy_set_header X-HTTP-Method "";
      # The path some applications serve instead of the inspected one (IIS
      # URL Rewrite, Laminas, older Symfony), and more names of the above.
      proxy_set_header X-Original-URL "";
      proxy_set_header X-Rewrite-URL "";
      proxy_set_header X-Forwarded-Uri "";
      proxy_set_header X-Forwarded-Method "";
      proxy_set_header Fastly-Client-IP "";
      proxy_set_header X-Cluster-Client-IP "";
      proxy_set_header X-Originating-IP "";
      proxy_set_header X-Remote-IP "";
      proxy_set_header X-Remote-Addr "";
      proxy_set_header Client-IP "";
      proxy_set_header X-Forwarded "";
      proxy_set_header Forwarded-For "";
      proxy_set_header X-ProxyUser-Ip "";
      proxy_set_header X-Host "";
      proxy_set_header X-Forwarded-Server "";
      proxy_set_header X-Forwarded-Scheme "";
      proxy_set_header X-Forwarded-Ssl "";
      proxy_set_header Front-End-Https "";
      proxy_set_header X-Url-Scheme "";
      proxy_connect_timeout 1s;
      proxy_send_timeout 2s;
      proxy_read_timeout 2s;
    }
  }
}
NGINX
nginx -c "$tmp/nginx.conf" -e "$tmp/nginx-error.log"
cp "$root/waf/testdata/blog-acl.json" "$tmp/"
printf '198.51.100.0/24\n' > "$tmp/reputation.txt"
# One lockgate: its gateway on 19104, its forward auth on 19103, both with
# the blog's rules and no log record (the gateway bench measures the log).
cat > "$tmp/lockgate.yaml" <<YAML
listen: 127.0.0.1:19105
data_dir: $tmp/data
log: {level: warn}
gateway:
  listen: 127.0.0.1:19104
  trusted_proxies: ["127.0.0.1/32"]
  routes:
    - name: shop
      upstreams: [http://127.0.0.1:19100]
      web_acl: $tmp/blog-acl.json
forward_auth:
  listen: 127.0.0.1:19103
  trusted_proxies: ["127.0.0.1/32"]
  routes:
    - name: shop
      web_acl: $tmp/blog-acl.json
waf:
  ip_reputation_file: $tmp/reputation.txt
YAML
if [ -n "${LOCKGATE_GOMAXPROCS:-}" ]; then export GOMAXPROCS="$LOCKGATE_GOMAXPROCS"; fi
# chrt sets the policy and execs lockgate (its threads inherit it), so
# $! stays lockgate's pid, whose CPU time run counts.
case "$sched" in
  batch) chrt --batch 0 "$tmp/lockgate" serve --config "$tmp/lockgate.yaml" 2>"$tmp/lockgate.stderr" & ;;
  other) "$tmp/lockgate" serve --config "$tmp/lockgate.yaml" 2>"$tmp/lockgate.stderr" & ;;
esac
lockgate_pid=$!
unset GOMAXPROCS
for _ in $(seq 100); do # until lockgate and nginx answer
  curl -fsS -o /dev/null -H 'X-Forwarded-For: 10.9.9.9' http://127.0.0.1:19102/ 2>/dev/null &&
    curl -fsS -o /dev/null http://127.0.0.1:19104/ 2>/dev/null && break
  sleep 0.1
done
# to_ms turns wrk's latency (850.00us, 7.85ms, 1.20s) into milliseconds.
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /[0-9]s$/ && v !~ /ms$/) n *= 1000; printf "%.3f", n }'; }
results="$tmp/results" # label<TAB>req/s<TAB>p99 ms<TAB>lockgate CPU µs/req<TAB>nginx CPU µs/req
# cpu_ticks is the CPU time (user and system, in clock ticks) the
# processes pids have used so far: divided by the requests wrk made, it is
# the cost of a request, which moderate load from elsewhere moves far less
# than the throughput.
cpu_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo "$t"; }
hz="$(getconf CLK_TCK)"
nginx_pids() { pgrep -P "$(cat "$tmp/nginx.pid")" | tr '\n' ' '; }
run() { # label port
  wrk -t2 -c64 -d1s -s "$root/bench/gateway/clients.lua" "http://127.0.0.1:$2/" >/dev/null
  # shellcheck disable=SC2046 # the workers' pids, one word each
  lg0=$(cpu_ticks "$lockgate_pid"); ng0=$(cpu_ticks $(nginx_pids))
  out="$(wrk -t2 -c64 -d"${dur}s" --latency -s "$root/bench/gateway/clients.lua" "http://127.0.0.1:$2/")"
  # shellcheck disable=SC2046
  lg1=$(cpu_ticks "$lockgate_pid"); ng1=$(cpu_ticks $(nginx_pids))
  rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
  p99="$(awk '$1=="99%" {print $2}' <<<"$out")"
  p50="$(awk '$1=="50%" {print $2}' <<<"$out")"
  n="$(awk '/requests in/ {print $1}' <<<"$out")"
  non2xx="$(awk '/Non-2xx/ {print $5}' <<<"$out")"
  lgus="$(awk -v d=$((lg1 - lg0)) -v hz="$hz" -v n="$n" 'BEGIN { printf "%.1f", n ? 1e6 * d / hz / n : 0 }')"
  ngus="$(awk -v d=$((ng1 - ng0)) -v hz="$hz" -v n="$n" 'BEGIN { printf "%.1f", n ? 1e6 * d / hz / n : 0 }')"
  printf '%-40s %12s req/s   p50 %8s   p99 %8s   non-2xx %s   CPU µs/req: lockgate %6s nginx %6s\n' "$1" "$rps" "$p50" "$p99" "${non2xx:-0}" "$lgus" "$ngus"
  printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$rps" "$(to_ms "$p99")" "$lgus" "$ngus" >> "$results"
}
alone="nginx $(nginx -v 2>&1 | sed 's/.*nginx\///') alone"
fwd="nginx + lockgate forward auth"
gwl="lockgate's gateway"
echo "nginx worker_processes $workers, keepalive $fa_keepalive to lockgate, lockgate GOMAXPROCS ${LOCKGATE_GOMAXPROCS:-default}, scheduling policy $sched; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrk -t2 -c64 -d${dur}s × $rounds rounds, 65,536 client IPs via X-Forwarded-For, the blog's 3 rules, $(nproc) cores, $(go version | awk '{print $3}')"
for round in $(seq "$rounds"); do
  echo "round $round"
  run "$alone" 19101
  run "$fwd" 19102
  [ "${ONLY:-}" = fwd ] || run "$gwl" 19104
done
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
col() { awk -F'\t' -v l="$1" -v c="$2" '$1 == l { print $c }' "$results"; }
base_rps=$(col "$alone" 2 | median)
spread=$(col "$alone" 2 | sort -g | awk -v m="$base_rps" 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.0f", 100 * (hi - lo) / m }')
labels=("$alone" "$fwd" "$gwl")
[ "${ONLY:-}" = fwd ] && labels=("$alone" "$fwd")
gw_rps=$(col "$gwl" 2 | median)
gw_rps="${gw_rps:-0}"
echo
printf '%-40s %12s %10s %14s %14s %16s %16s\n' "median of $rounds rounds" "req/s" "p99 ms" "× nginx alone" "× gateway" "lockgate µs/req" "nginx µs/req"
for label in "${labels[@]}"; do
  rps=$(col "$label" 2 | median)
  p99=$(col "$label" 3 | median)
  lgus=$(col "$label" 4 | median)
  ngus=$(col "$label" 5 | median)
  awk -v l="$label" -v r="$rps" -v p="$p99" -v b="$base_rps" -v g="$gw_rps" -v lg="$lgus" -v ng="$ngus" \
    'BEGIN { printf "%-40s %12.0f %10.2f %14.2f %14.2f %16.1f %16.1f\n", l, r, p, r / b, g ? r / g : 0, lg, ng }'
done
echo "CPU µs/req: the CPU time (user + system, /proc/<pid>/stat) lockgate's process and nginx's workers used during a measurement, over wrk's requests; the gateway's requests cost nginx nothing"
echo "load average at the end: $(cut -d" " -f1-3 /proc/loadavg)"
if [ -n "${FA_ACCESS_LOG:-}" ]; then
  kill -USR1 "$(cat "$tmp/nginx.pid")" # reopen: flushes the buffered lines
  sleep 0.5
  # Requests by nginx's time, in bands: where the time went on average.
  sort -g "$FA_ACCESS_LOG" | awk '$2 ~ /^[0-9.]+$/ && $3 ~ /^[0-9.]+$/ { t[++n] = $1; l[n] = $2; a[n] = $3 }
    END { split("0 0.5 0.9 0.99 1", b, " ")
      for (i = 1; i < 5; i++) { lo = int(n * b[i]) + 1; hi = int(n * b[i + 1]); st = sl = sa = 0
        for (j = lo; j <= hi; j++) { st += t[j]; sl += l[j]; sa += a[j] }
        k = hi - lo + 1; printf "nginx + lockgate, requests %3d–%3d%% by time: mean %.2f ms, of which lockgate (as nginx sees it) %.2f ms, the application %.2f ms\n", 100 * b[i], 100 * b[i + 1], 1000 * st / k, 1000 * sl / k, 1000 * sa / k } }'
fi
echo "noise: nginx alone's throughput spread over $rounds rounds is ${spread}% of its median"
if [ "$spread" -gt 15 ]; then
  echo "too noisy to compare (over 15%): something else is using the cores; run again when the machine is quiet"
fi
