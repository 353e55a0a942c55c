#!/usr/bin/env bash
# Throughput, latency and memory of the proxy, against nginx directly and through the proxy
# (release build, cached tokens), over HTTP/2 and HTTP/1.1; then memory per idle watch.
# Installs nginx and h2load (Debian packages) when missing. Prints a table; exits 0.
#   REQUESTS=20000 CLIENTS=16 STREAMS=8 WATCHES=1000 Benchmarks/proxy-benchmark.sh
# PROXY_BIN=path runs a given binary instead of building; KEEP=1 keeps the work folder;
# HOLD=1 leaves everything running for profiling by hand; PROXY_ARGS adds flags to the proxy
# (e.g. "--audit-policy-file=configmap-policy.yaml --audit-log-path=/tmp/audit.log"); UPSTREAM_PORT,
# PROXY_PORT, PROBE_PORT, REFERENCE_PORT, AUDIT_PORT and AUDIT_PROBE_PORT move the listeners so
# two runs can share a machine. ONLY=throughput|watches|audit runs one section; ROUNDS sets how
# many times the audit on/off pair runs.
set -euo pipefail
cd "$(dirname "$0")/.."
REQUESTS=${REQUESTS:-20000}
CLIENTS=${CLIENTS:-16}
STREAMS=${STREAMS:-8}
WATCHES=${WATCHES:-1000}
UPSTREAM_PORT=${UPSTREAM_PORT:-19443}
PROXY_PORT=${PROXY_PORT:-16443}
PROBE_PORT=${PROBE_PORT:-18081}
REFERENCE_PORT=${REFERENCE_PORT:-17443}
AUDIT_PORT=${AUDIT_PORT:-16444}
AUDIT_PROBE_PORT=${AUDIT_PROBE_PORT:-18082}
ROUNDS=${ROUNDS:-5}
ONLY=${ONLY:-}

if ! command -v nginx >/dev/null || ! command -v h2load >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq nginx-light nghttp2-client >/dev/null
fi
bin=.build-release/release
if [ -z "${PROXY_BIN:-}" ]; then
    echo "building (release)…" >&2
    swift build -c release --scratch-path .build-release --product kube-oidc-proxy >&2
    PROXY_BIN=$bin/kube-oidc-proxy
fi
swift build -c release --scratch-path .build-release --product BenchIssuer >&2

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pidfile in "$work/nginx.pid" "$work/ref/nginx.pid"; do
        [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
    done
    [ -n "${KEEP:-}" ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT

# nginx: TLS with HTTP/2, a 1 KiB pod list, and a watch (/api/v1/watch/pods, the path form of
# ?watch=true) that trickles one byte a second: an open, mostly idle watch.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$work/nginx.key" -out "$work/nginx.crt" 2>/dev/null
mkdir -p "$work/www/api/v1/namespaces/default" "$work/logs"
python3 - "$work/www/api/v1/namespaces/default/pods" <<'PY'
import json, sys
items = [{"metadata": {"name": f"pod-{i}", "namespace": "default"}} for i in range(12)]
open(sys.argv[1], "w").write(json.dumps({"kind": "PodList", "apiVersion": "v1", "items": items}))
PY
mkdir -p "$work/www/api/v1/watch"
head -c 65536 /dev/zero | tr '\0' 'w' > "$work/www/api/v1/watch/pods"
cat > "$work/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/logs/error.log;
events { worker_connections 8192; }
http {
    access_log off;
    default_type application/json;
    keepalive_requests 1000000;
    http2_max_concurrent_streams 1024;
    client_body_temp_path $work/logs; proxy_temp_path $work/logs; fastcgi_temp_path $work/logs;
    uwsgi_temp_path $work/logs; scgi_temp_path $work/logs;
    server {
        listen 127.0.0.1:$UPSTREAM_PORT ssl http2;
        ssl_certificate $work/nginx.crt;
        ssl_certificate_key $work/nginx.key;
        root $work/www;
        location = /api/v1/watch/pods { limit_rate 1; }
    }
}
CONF
chmod -R a+rX "$work"
nginx -p "$work" -c "$work/nginx.conf"

# The yardstick: nginx itself as a TLS-terminating reverse proxy to the same upstream (two
# workers, as the proxy has two event loops; a keep-alive upstream pool), to show what a
# mature C proxy achieves against the same direct figures on this machine.
mkdir -p "$work/ref"
cat > "$work/ref/nginx.conf" <<CONF
worker_processes 2;
pid $work/ref/nginx.pid;
error_log $work/logs/ref-error.log;
events { worker_connections 8192; }
http {
    access_log off;
    keepalive_requests 1000000;
    http2_max_concurrent_streams 1024;
    client_body_temp_path $work/logs; proxy_temp_path $work/logs; fastcgi_temp_path $work/logs;
    uwsgi_temp_path $work/logs; scgi_temp_path $work/logs;
    upstream api { server 127.0.0.1:$UPSTREAM_PORT; keepalive 256; }
    server {
        listen 127.0.0.1:$REFERENCE_PORT ssl http2;
        ssl_certificate $work/nginx.crt;
        ssl_certificate_key $work/nginx.key;
        location / {
            proxy_pass https://api;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_ssl_session_reuse on;
            proxy_buffering off;
        }
    }
}
CONF
nginx -p "$work/ref" -c "$work/ref/nginx.conf"

"$bin/BenchIssuer" "$work/issuer.env" & pids+=($!)
for _ in $(seq 100); do [ -s "$work/issuer.env" ] && break; sleep 0.1; done
# shellcheck disable=SC1091
source "$work/issuer.env"

# start_proxy PORT PROBE_PORT NAME EXTRA-FLAGS…: starts a proxy, waits until /ready, sets $started
start_proxy() {
    local port=$1 probe=$2 name=$3
    shift 3
    "$PROXY_BIN" --oidc-issuer-url="$ISSUER_URL" --oidc-client-id=kube --oidc-ca-file="$ISSUER_CA" \
        --oidc-username-claim=email --oidc-username-prefix=banyan: --oidc-groups-claim=roles \
        --oidc-groups-prefix=banyan: --bind-address=127.0.0.1 --secure-port="$port" --readiness-probe-port="$probe" \
        --cert-dir="$work/$name" --server=https://127.0.0.1:$UPSTREAM_PORT --certificate-authority="$work/nginx.crt" \
        --token=bench-service-account "$@" 2>"$work/logs/$name.log" &
    started=$!
    pids+=("$started")
    for _ in $(seq 200); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$probe/ready")" = 200 ] && return
        sleep 0.1
    done
    echo "$name did not become ready; its log:" >&2
    cat "$work/logs/$name.log" >&2
    exit 1
}
# shellcheck disable=SC2086
start_proxy "$PROXY_PORT" "$PROBE_PORT" proxy ${PROXY_ARGS:-}
proxy=$started
# The audited proxy: configmap.yaml's policy and the Banyan sink into the stand-in Banyan API.
# The batch throttle is lifted: the API server's default (10 batches/s of 400) ships 4,000 events
# a second, less than these loads make, so the spool would grow until full and drop events, and
# the shipping (reading back, gzip, the POSTs) would wait until after the measurement. Unthrottled,
# every event is shipped as the load runs and its cost is counted.
start_audited() {
    python3 - configmap.yaml "$work/audit.yaml" <<'PY'
import sys, yaml
for doc in yaml.safe_load_all(open(sys.argv[1])):
    if doc and doc.get("kind") == "ConfigMap":
        open(sys.argv[2], "w").write(doc["data"]["audit.yaml"])
PY
    printf '%s' "$BANYAN_REFRESH_TOKEN" >"$work/banyan-refresh-token"
    start_proxy "$AUDIT_PORT" "$AUDIT_PROBE_PORT" audited --audit-policy-file="$work/audit.yaml" \
        --audit-spool-dir="$work/spool" --banyan-restapi-url="$BANYAN_URL" --banyan-ca-file="$BANYAN_CA" \
        --banyan-service-name=bench --banyan-refresh-token-file="$work/banyan-refresh-token" \
        --audit-webhook-batch-throttle-enable=false
    audited=$started
}
if [ -n "${HOLD:-}" ]; then
    start_audited
    # For profiling by hand: everything stays up until this script is killed.
    echo "proxy pid $proxy, TOKEN in $work/issuer.env, upstream :$UPSTREAM_PORT, proxy :$PROXY_PORT," \
        "audited proxy pid $audited :$AUDIT_PORT" >&2
    sleep infinity
fi
rss() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$proxy/status"; }
idle_rss=$(rss VmRSS)

# run NAME PORT H2LOAD-ARGS…: prints "req/s p50_ms p99_ms"
run() {
    local name=$1 port=$2
    shift 2
    h2load "$@" -H "authorization: Bearer $TOKEN" --log-file="$work/$name.log" \
        "https://127.0.0.1:$port/api/v1/namespaces/default/pods" >"$work/$name.out" 2>&1 || true
    local rps
    rps=$(awk '/^finished in/ { gsub(",", "", $4); print $4 }' "$work/$name.out")
    python3 - "$work/$name.log" "$rps" <<'PY'
import sys
durations = sorted(int(line.split("\t")[2]) for line in open(sys.argv[1]) if line.count("\t") >= 2 and line.split("\t")[1] == "200")
if not durations:
    print("0 0 0"); sys.exit()
def pct(p): return durations[min(len(durations) - 1, int(len(durations) * p))] / 1000
print(f"{float(sys.argv[2] or 0):.0f} {pct(0.50):.2f} {pct(0.99):.2f}")
PY
}

report() {
    local label=$1 direct=$2 proxied=$3
    read -r d_rps d_p50 d_p99 <<<"$direct"
    read -r p_rps p_p50 p_p99 <<<"$proxied"
    printf '%-34s %10s %9s %9s\n' "$label direct" "$d_rps" "$d_p50" "$d_p99"
    printf '%-34s %10s %9s %9s\n' "$label via proxy" "$p_rps" "$p_p50" "$p_p99"
    python3 -c "import sys; d,p,dp,pp=map(float,sys.argv[1:]); print(f'{\"\":34} ratio proxy/direct {p/d if d else 0:.2f}, p99 added {pp-dp:+.2f} ms')" \
        "$d_rps" "$p_rps" "$d_p99" "$p_p99"
}
if [ -z "$ONLY" ] || [ "$ONLY" = throughput ]; then
printf '\n%-34s %10s %9s %9s\n' "load" "req/s" "p50 ms" "p99 ms"
report "HTTP/2 c=$CLIENTS m=$STREAMS" \
    "$(run h2-direct $UPSTREAM_PORT -n "$REQUESTS" -c "$CLIENTS" -m "$STREAMS")" \
    "$(run h2-proxy $PROXY_PORT -n "$REQUESTS" -c "$CLIENTS" -m "$STREAMS")"
report "HTTP/1.1 c=$CLIENTS" \
    "$(run h1-direct $UPSTREAM_PORT --h1 -n "$REQUESTS" -c "$CLIENTS" -m 1)" \
    "$(run h1-proxy $PROXY_PORT --h1 -n "$REQUESTS" -c "$CLIENTS" -m 1)"
reference() {
    local label=$1 direct=$2 nginx=$3
    read -r d_rps _ d_p99 <<<"$direct"
    read -r n_rps n_p50 n_p99 <<<"$nginx"
    printf '%-34s %10s %9s %9s\n' "$label via nginx" "$n_rps" "$n_p50" "$n_p99"
    python3 -c "import sys; d,p,dp,pp=map(float,sys.argv[1:]); print(f'{\"\":34} yardstick nginx-proxy/direct {p/d if d else 0:.2f}, p99 added {pp-dp:+.2f} ms')" \
        "$d_rps" "$n_rps" "$d_p99" "$n_p99"
}
echo "(yardstick: the same loads through nginx as the reverse proxy)"
reference "HTTP/2 c=$CLIENTS m=$STREAMS" "$(run h2-direct $UPSTREAM_PORT -n "$REQUESTS" -c "$CLIENTS" -m "$STREAMS")" \
    "$(run h2-nginx $REFERENCE_PORT -n "$REQUESTS" -c "$CLIENTS" -m "$STREAMS")"
reference "HTTP/1.1 c=$CLIENTS" "$(run h1-direct $UPSTREAM_PORT --h1 -n "$REQUESTS" -c "$CLIENTS" -m 1)" \
    "$(run h1-nginx $REFERENCE_PORT --h1 -n "$REQUESTS" -c "$CLIENTS" -m 1)"
report "HTTP/2 moderate c=2 m=1" \
    "$(run mod-direct $UPSTREAM_PORT -n 4000 -c 2 -m 1)" \
    "$(run mod-proxy $PROXY_PORT -n 4000 -c 2 -m 1)"
peak_rss=$(rss VmHWM)
printf '\nproxy RSS: idle %d KiB, peak during load %d KiB\n' "$idle_rss" "$peak_rss"
fi

# Idle watches: WATCHES streams held open through the proxy (nginx trickles one byte a second).
if [ -z "$ONLY" ] || [ "$ONLY" = watches ]; then
before=$(rss VmRSS)
timeout 60 h2load -n "$WATCHES" -c 10 -m $((WATCHES / 10)) -H "authorization: Bearer $TOKEN" \
    "https://127.0.0.1:$PROXY_PORT/api/v1/watch/pods" >/dev/null 2>&1 & watchers=$!
sleep 12
after=$(rss VmRSS)
kill "$watchers" 2>/dev/null || true
printf 'proxy RSS with %d idle watches: %d KiB (+%d KiB, %.1f KiB per watch)\n' "$WATCHES" "$after" \
    $((after - before)) "$(python3 -c "print(($after - $before) / $WATCHES)")"
fi

# Audit overhead: a second proxy with the configmap.yaml policy (Metadata for every request) and
# the Banyan sink (durable spool, batches POSTed to a stand-in Banyan API that answers at once),
# run alternately with the plain proxy, ROUNDS times, so both see the same machine.
if [ -z "$ONLY" ] || [ "$ONLY" = audit ]; then
start_audited
# Beside throughput, each proxy's own CPU per request (all its threads, from /proc): steadier
# than req/s on a machine whose speed drifts, and the cost of auditing without the load tools'.
# And the share of the machine's time its host took back (steal) during each pair: above a few
# percent the round says more about the host than about the proxy.
printf '\n%-34s %10s %10s %8s %8s %9s %6s\n' "audit (Metadata + Banyan sink)" "off req/s" "on req/s" \
    "off µs" "on µs" "on/off" "steal"
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
cpu_times() { awk '$1 == "cpu" { print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $9 }' /proc/stat; }
audit_round() {
    local label=$1
    shift
    local off on t0 t1 t2 c0 c1
    c0=$(cpu_times)
    t0=$(ticks "$proxy")
    off=$(run audit-off "$PROXY_PORT" "$@")
    t1=$(ticks "$proxy") t2=$(ticks "$audited")
    on=$(run audit-on "$AUDIT_PORT" "$@")
    c1=$(cpu_times)
    python3 -c "
import sys
label, off, on, cpu_off, cpu_on, hz, n, c0, c1 = sys.argv[1:]
o, a = float(off.split()[0]), float(on.split()[0])
per = lambda ticks: int(ticks) / int(hz) / int(n) * 1e6
(total0, steal0), (total1, steal1) = map(int, c0.split()), map(int, c1.split())
steal = (steal1 - steal0) / max(1, total1 - total0) * 100
print(f'{label:34} {o:10.0f} {a:10.0f} {per(cpu_off):8.1f} {per(cpu_on):8.1f} {a/o if o else 0:9.2f} {steal:5.0f}%')" \
        "$label" "$off" "$on" $((t1 - t0)) $(($(ticks "$audited") - t2)) "$(getconf CLK_TCK)" "$REQUESTS" "$c0" "$c1" |
        tee -a "$work/audit-rounds"
}
for round in $(seq "$ROUNDS"); do
    audit_round "HTTP/2 c=$CLIENTS m=$STREAMS #$round" -n "$REQUESTS" -c "$CLIENTS" -m "$STREAMS"
    audit_round "HTTP/1.1 c=$CLIENTS #$round" --h1 -n "$REQUESTS" -c "$CLIENTS" -m 1
done
# This machine's throughput drifts between runs; the median of the paired ratios is the figure,
# and the middle half of the rounds (quartiles) says how far to trust it: two builds whose
# middle halves overlap have not been told apart.
python3 - "$work/audit-rounds" <<'PY'
import statistics, sys
ratios, added, steal = {}, {}, {}
for line in open(sys.argv[1]):
    label = line.split(" #")[0].strip()
    fields = line.split()
    ratios.setdefault(label, []).append(float(fields[-2]))
    added.setdefault(label, []).append(float(fields[-3]) - float(fields[-4]))
    steal.setdefault(label, []).append(float(fields[-1].rstrip("%")))
def middle(values, form):
    if len(values) < 2:
        return ""
    low, _, high = statistics.quantiles(values, n=4)
    return f" (middle half {form.format(low)} to {form.format(high)})"
for label, values in ratios.items():
    print(f"{label:34} median on/off {statistics.median(values):.2f}{middle(values, '{:.2f}')} over {len(values)} rounds,"
          f" auditing adds {statistics.median(added[label]):+.1f} µs{middle(added[label], '{:+.1f}')} of proxy CPU"
          f" per request, steal {statistics.median(steal[label]):.0f}%")
PY
sleep 2
curl -s "http://127.0.0.1:$AUDIT_PROBE_PORT/metrics" >"$work/audit-metrics"
metric() { awk -v pattern="$1" '$0 ~ pattern { print $2; exit }' "$work/audit-metrics"; }
printf 'audited proxy: %s events accepted into the spool, %s dropped; %s batches sent; %s bytes left in the spool\n' \
    "$(metric '^kube_oidc_proxy_audit_events_total.*accepted')" "$(metric '^kube_oidc_proxy_audit_events_total.*dropped')" \
    "$(metric '^kube_oidc_proxy_audit_batches_total.*sent')" "$(metric '^kube_oidc_proxy_audit_spool_bytes')"
fi
