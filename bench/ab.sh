#!/usr/bin/env bash
# Before/after on this machine: the same durable workloads against two `spate` binaries,
# alternating runs so both see the same machine state (disk, page cache, neighbours).
#
#   bench/ab.sh OLD_SPATE NEW_SPATE [ROUNDS]     # ROUNDS defaults to 6
#
# Build the old binary from a worktree with its own target directory, for example:
#   git worktree add /tmp/base <commit> && (cd /tmp/base && CARGO_TARGET_DIR=/tmp/base-target \
#     cargo build --release -p spate-cli)
#
# Per round and binary: a fresh data directory, PutRecords for 10 s (100 B records, 500 per
# call, random keys, 4 shards, 8 connections), GetRecords read-back of everything with
# verification, then sequential PutRecord on one connection for 5 s. Prints the median of each
# measure; the raw JSON reports stay in $SPATE_AB_DIR.
set -euo pipefail

old=${1:?usage: bench/ab.sh OLD_SPATE NEW_SPATE [ROUNDS]}
new=${2:?usage: bench/ab.sh OLD_SPATE NEW_SPATE [ROUNDS]}
rounds=${3:-6}
work=${SPATE_AB_DIR:-${TMPDIR:-/tmp}/spate-ab}
rm -rf "$work" && mkdir -p "$work"
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench

one_round() {
  local bin=$1 label=$2 round=$3
  local data="$work/data" log="$work/serve-$label-$round.log" port=""
  rm -rf "$data" && mkdir -p "$data"
  "$bin" serve --port 0 --data-dir "$data" --creating-delay-ms 0 > "$log" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do
    port=$(grep -oE 'listening on [^ ]*:[0-9]+' "$log" | grep -oE '[0-9]+$' || true)
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { echo "$label did not start: $(cat "$log")" >&2; kill "$pid"; exit 1; }
  local endpoint="http://127.0.0.1:$port"
  "$bin" bench put --endpoint "$endpoint" --create 4 --record-size 100 --batch 500 \
    --concurrency 8 --duration-secs 10 --json > "$work/put-$label-$round.json"
  "$bin" bench get --endpoint "$endpoint" --verify --json > "$work/get-$label-$round.json"
  "$bin" bench put --endpoint "$endpoint" --stream seq --create 1 --batch 1 --concurrency 1 \
    --duration-secs 5 --json > "$work/seq-$label-$round.json"
  kill "$pid" && wait "$pid" 2> /dev/null || true
  rm -rf "$data"
}

for round in $(seq "$rounds"); do
  # Alternate which binary goes first so neither always runs on a warmer machine.
  if [ $((round % 2)) = 1 ]; then
    one_round "$old" old "$round"; one_round "$new" new "$round"
  else
    one_round "$new" new "$round"; one_round "$old" old "$round"
  fi
done

python3 - "$work" <<'PY'
import glob, json, statistics, sys
work = sys.argv[1]
def median(kind, label, pick):
    runs = [json.load(open(f)) for f in sorted(glob.glob(f"{work}/{kind}-{label}-*.json"))]
    return statistics.median(pick(r) for r in runs)
rate = lambda r: r["records_per_sec"]
print("| Measure | old (median) | new (median) | change |")
print("|---|---|---|---|")
for title, kind, pick, fmt in [
    ("PutRecords records/s", "put", rate, "{:,.0f}"),
    ("PutRecords p50 ms", "put", lambda r: r["latency_ms"]["p50"], "{:.2f}"),
    ("PutRecords p99 ms", "put", lambda r: r["latency_ms"]["p99"], "{:.2f}"),
    ("GetRecords records/s", "get", rate, "{:,.0f}"),
    ("PutRecord p50 ms", "seq", lambda r: r["latency_ms"]["p50"], "{:.3f}"),
    ("PutRecord p99 ms", "seq", lambda r: r["latency_ms"]["p99"], "{:.3f}"),
]:
    old, new = median(kind, "old", pick), median(kind, "new", pick)
    print(f"| {title} | {fmt.format(old)} | {fmt.format(new)} | {100 * (new - old) / old:+.1f}% |")
PY
