#!/usr/bin/env bash
# Where an audited proxy's CPU goes, per request. Profiles two running proxies (perf, every CPU,
# call graphs) while Benchmarks/cpu-pair.sh loads both at the same moment, then prints for each
# its CPU per request and the audit step's parts of it: recording the exchange's events, the
# audit decision, writing an audited HTTP/2 response head, and the threads that are not event
# loops (the shippers: batches, gzip, HTTP; prefaulting, unlinking). Compare two builds, or a
# proxy with audit against one without. Start the proxies first, e.g. with
# `HOLD=1 KEEP=1 Benchmarks/proxy-benchmark.sh` (plain on :16443, audited on :16444), then:
#   Benchmarks/audit-profile.sh WORK_FOLDER 16443 16444 [h2|h1]
# Every CPU is recorded and the samples split by process afterwards: `perf record -p` misses the
# threads a process starts after perf attaches (dispatch and task-pool workers come and go), which
# can hide most of a shipper's work. Needs perf (Debian: linux-perf) and root.
set -euo pipefail
work=$1 a=$2 b=$3 mode=${4:-h2} requests=${REQUESTS:-40000}
command -v perf >/dev/null || { echo "audit-profile.sh: perf is not installed (Debian: linux-perf)" >&2; exit 2; }
pid() { pgrep -f -- "--secure-port=$1( |$)" | head -1; }
pa=$(pid "$a") pb=$(pid "$b")
[ -n "$pa" ] && [ -n "$pb" ] || { echo "audit-profile.sh: no proxy on :$a or :$b" >&2; exit 2; }
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
perf record -F 1000 -g -a -o "$data/perf.data" -- sleep 600 >/dev/null 2>&1 &
recorder=$!
sleep 0.5
REQUESTS=$requests "$(dirname "$0")/cpu-pair.sh" "$work" "$a" "$b" "$mode"
kill -INT "$recorder"
wait "$recorder" || true
perf script -i "$data/perf.data" --pid="$pa" >"$data/a.txt" 2>/dev/null
perf script -i "$data/perf.data" --pid="$pb" >"$data/b.txt" 2>/dev/null
python3 - "$requests" ":$a" "$data/a.txt" ":$b" "$data/b.txt" <<'PY'
import re, sys

# A part is the samples with one of these (mangled Swift) names on their stack.
parts = [
    ("record", ["PolicyAuditorC5write", "PolicyAuditorC6record", "PolicyAuditorC11recordStart"]),
    ("decide", ["PolicyAuditorC6decide"]),
    ("h2 head", ["HTTP2ResponseHead"]),
]
header = re.compile(r"^(.*?)\s+\d+(?:/\d+)?\s+(?:\[\d+\]\s+)?\d+\.\d+:")

def samples(path):
    """(thread name, frames) per sample of `perf script` output."""
    found, frames, thread = [], None, None
    for line in open(path, errors="replace"):
        if not line.strip():
            continue
        if not line[0].isspace():
            match = header.match(line)
            thread, frames = (match.group(1) if match else "?"), []
            found.append((thread, frames))
        elif frames is not None:
            fields = line.split(None, 1)
            if len(fields) == 2:
                frames.append(fields[1])
    return found

requests = int(sys.argv[1])
per_request = 1000 / requests  # a sample is 1 ms (1,000 µs) of CPU at 1000 Hz
print(f"{'proxy':8} {'total':>8} {'record':>8} {'decide':>8} {'h2 head':>8} {'off-loop':>9}  µs per request")
for label, path in zip(sys.argv[2::2], sys.argv[3::2]):
    counts = dict.fromkeys([name for name, _ in parts] + ["off-loop"], 0)
    found = samples(path)
    for thread, frames in found:
        if not thread.startswith("NIO-"):
            counts["off-loop"] += 1
            continue
        for name, keys in parts:
            if any(key in frame for frame in frames for key in keys):
                counts[name] += 1
                break
    row = [len(found)] + [counts[name] for name, _ in parts] + [counts["off-loop"]]
    print(f"{label:8} " + " ".join(f"{count * per_request:8.2f}" for count in row[:4]) + f" {row[4] * per_request:9.2f}")
PY
