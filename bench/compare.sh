#!/usr/bin/env bash
# Side by side, on this machine: the same `spate bench` workloads against Spate (durable and in
# memory) and the servers a user would pick instead: kinesalite and kinesis-local (kinesis-mock),
# both from npm, and ferrokinesis (`cargo install`, only with FERROKINESIS=1: its build is slow).
#
#   bench/compare.sh                      # DURATION=10 seconds per write run
#   FERROKINESIS=1 DURATION=10 bench/compare.sh
#
# Every server listens on a free loopback port. Prints a Markdown table; the raw JSON reports
# are kept in $SPATE_COMPARE_DIR/results.jsonl.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work=${SPATE_COMPARE_DIR:-${TMPDIR:-/tmp}/spate-compare}
duration=${DURATION:-10}
spate=${SPATE_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/spate}
mkdir -p "$work/node"
results="$work/results.jsonl"
: > "$results"

if [ ! -x "$spate" ]; then
  (cd "$root" && cargo build --release -p spate-cli)
fi

# Peers from npm, pinned.
(
  cd "$work/node"
  [ -f package.json ] || npm init -y > /dev/null
  npm install --no-audit --no-fund --silent kinesalite@3.3.3 kinesis-local@0.6.2 > /dev/null
)
ferro=""
if [ "${FERROKINESIS:-0}" = 1 ]; then
  cargo install ferrokinesis --locked --root "$work/cargo" > "$work/ferrokinesis-install.log" 2>&1
  ferro="$work/cargo/bin/ferrokinesis"
fi

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() {
  for _ in $(seq 1 600); do
    (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2
  return 1
}

server_pid=""
stop_server() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2> /dev/null || true
    wait "$server_pid" 2> /dev/null || true
    server_pid=""
  fi
}
trap stop_server EXIT

# run NAME PORT: the three workloads against the server listening on PORT.
run() {
  local name=$1 endpoint="http://127.0.0.1:$2"
  wait_port "$2"
  sleep 0.5
  local put get seq
  put=$("$spate" bench put --endpoint "$endpoint" --stream cmp --create 4 --record-size 100 \
          --batch 500 --concurrency 8 --duration-secs "$duration" --json)
  get=$("$spate" bench get --endpoint "$endpoint" --stream cmp --json)
  seq=$("$spate" bench put --endpoint "$endpoint" --stream seq --create 1 --batch 1 \
          --concurrency 1 --duration-secs "$(( (duration + 1) / 2 ))" --json)
  printf '{"server": "%s", "put": %s, "get": %s, "sequential": %s}\n' "$name" "$put" "$get" "$seq" >> "$results"
  stop_server
}

port=$(free_port)
"$spate" serve --port "$port" --data-dir "$work/spate-data-$$" --creating-delay-ms 0 2> "$work/spate-durable.log" > /dev/null &
server_pid=$!
run "Spate (durable)" "$port"
rm -rf "$work/spate-data-$$"

port=$(free_port)
"$spate" serve --port "$port" --in-memory --creating-delay-ms 0 2> "$work/spate-memory.log" > /dev/null &
server_pid=$!
run "Spate (in memory)" "$port"

port=$(free_port)
"$work/node/node_modules/.bin/kinesalite" --port "$port" --createStreamMs 0 > "$work/kinesalite.log" 2>&1 &
server_pid=$!
run "kinesalite 3.3.3 (in memory)" "$port"

port=$(free_port)
# kinesis-mock reads its TLS settings (server.json) from the working directory.
(cd "$work/node/node_modules/kinesis-local" &&
  KINESIS_MOCK_PLAIN_PORT=$port KINESIS_MOCK_TLS_PORT=$(free_port) CREATE_STREAM_DURATION=0ms \
  exec node main.js > "$work/kinesis-local.log" 2>&1) &
server_pid=$!
run "kinesis-local 0.6.2 (kinesis-mock)" "$port"

if [ -n "$ferro" ]; then
  version=$(cargo install --list --root "$work/cargo" | awk '/^ferrokinesis/ {print $2}' | tr -d ':')
  port=$(free_port)
  "$ferro" --port "$port" --create-stream-ms 0 > "$work/ferrokinesis.log" 2>&1 &
  server_pid=$!
  run "ferrokinesis ${version:-} (in memory)" "$port"

  port=$(free_port)
  "$ferro" --port "$port" --create-stream-ms 0 --state-dir "$work/ferro-state-$$" \
    > "$work/ferrokinesis-durable.log" 2>&1 &
  server_pid=$!
  run "ferrokinesis ${version:-} (--state-dir)" "$port"
  rm -rf "$work/ferro-state-$$"
fi

python3 - "$results" <<'EOF'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
print("| Server | PutRecords records/s | put p99 ms | GetRecords records/s | PutRecord p50 ms | PutRecord p99 ms |")
print("|---|---|---|---|---|---|")
for r in rows:
    put, get, seq = r["put"], r["get"], r["sequential"]
    print(f"| {r['server']} | {put['records_per_sec']:,.0f} | {put['latency_ms']['p99']:.2f} | "
          f"{get['records_per_sec']:,.0f} | {seq['latency_ms']['p50']:.2f} | {seq['latency_ms']['p99']:.2f} |")
EOF
