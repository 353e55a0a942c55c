#!/usr/bin/env bash
# Two proxies under the same h2load load at the same moment, so that this machine's drift (CPU
# steal from its host moves single runs by ±30%) hits both alike: prints each one's requests per
# second and CPU µs per request (all its threads, from /proc), and the difference.
# Start the proxies first, e.g. with `HOLD=1 KEEP=1 Benchmarks/proxy-benchmark.sh` (plain on
# :16443, audited on :16444; it prints the work folder), then:
#   Benchmarks/cpu-pair.sh WORK_FOLDER 16443 16444 [h1|h2]
# Run it with the ports both ways round: the h2load started first gets a small head start.
set -euo pipefail
work=$1 a=$2 b=$3 mode=${4:-h1} requests=${REQUESTS:-30000}
# shellcheck source=/dev/null
source "$work/issuer.env"
pid() { pgrep -f -- "--secure-port=$1( |$)" | head -1; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
pa=$(pid "$a") pb=$(pid "$b")
if [ "$mode" = h1 ]; then args=(--h1 -c 16 -m 1); else args=(-c 16 -m 8); fi
ta=$(ticks "$pa") tb=$(ticks "$pb")
load() {
    h2load -n "$requests" "${args[@]}" -H "authorization: Bearer $TOKEN" \
        "https://127.0.0.1:$1/api/v1/namespaces/default/pods" | awk '/^finished in/ { gsub(",", "", $4); print $4 }'
}
load "$a" > "$work/pair-a" &
load "$b" > "$work/pair-b" &
wait
ta=$(( $(ticks "$pa") - ta )) tb=$(( $(ticks "$pb") - tb ))
hz=$(getconf CLK_TCK)
python3 - "$mode" "$a" "$b" "$(cat "$work/pair-a")" "$(cat "$work/pair-b")" "$ta" "$tb" "$hz" "$requests" <<'PY'
import sys
mode, a, b, ra, rb, ta, tb, hz, n = sys.argv[1:]
ua, ub = int(ta) / int(hz) / int(n) * 1e6, int(tb) / int(hz) / int(n) * 1e6
print(f"{mode} :{a} {float(ra):7.0f} req/s {ua:6.1f} µs/req | :{b} {float(rb):7.0f} req/s {ub:6.1f} µs/req"
      f" | :{b} costs {ub - ua:+6.1f} µs/req")
PY
