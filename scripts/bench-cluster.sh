#!/usr/bin/env bash
# Runs a load-test scenario against Plenary in its production shape on this
# machine: a store process (scheduler,recorder; embedded store, demo tenant),
# one SFU node process, two gateway processes (signaling,chat,web) without
# SFUs, one Redis; N load-tester shards; then merges the shard reports.
#
#   scripts/bench-cluster.sh SCENARIO OUT_DIR [SHARDS]
#   e.g. scripts/bench-cluster.sh loadtest/scenarios/keynote.yaml /tmp/keynote 2
#
# Env: REDIS_URL (default redis://127.0.0.1:6379/0), PLENARY_BIN (default
# bin/plenary, built if missing), PPROF_PORT (when set, the SFU node serves
# /debug/pprof/ on 127.0.0.1:PPROF_PORT, gateway i on PPROF_PORT+i and
# shard i on PPROF_PORT+10+i),
# GW_ARGS (extra `plenary serve` flags for the gateways, e.g.
# "--chat-window 100ms").
# Every process's log and RSS samples land in OUT_DIR; the merged report in OUT_DIR/merged. Exit code: the merge's (1 when
# an SLO failed).
set -euo pipefail
scenario=${1:?scenario file}
out=${2:?output dir}
shards=${3:-2}
redis=${REDIS_URL:-redis://127.0.0.1:6379/0}
bin=${PLENARY_BIN:-bin/plenary}
[ -x "$bin" ] || go build -o "$bin" ./cmd/plenary
mkdir -p "$out"
prefix="bench-$(date +%s)"
pids=()
cleanup() { # newest first: the store process goes last, when nothing needs it any more
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
}
trap cleanup EXIT

wait_up() { # log file → prints the URL line's URL
  for _ in $(seq 1 600); do
    if u=$(grep -m1 -o 'Plenary is up: .*' "$1" 2>/dev/null); then echo "${u#Plenary is up: }"; return; fi
    sleep 0.1
  done
  echo "timed out waiting for $1" >&2; exit 1
}

ulimit -n 20000 || true
# --debug-listen for the process at offset $1 from PPROF_PORT (nothing without it).
debug() { [ -n "${PPROF_PORT:-}" ] && echo "--debug-listen 127.0.0.1:$((PPROF_PORT + $1))"; true; }
# The store process: the embedded store (FerretDB), the demo tenant, the
# scheduler and the recorder, apart from the SFU as a real store would be.
"$bin" serve --roles scheduler,recorder --demo --redis-url "$redis" --prefix "$prefix" \
  --listen 127.0.0.1:0 --data-dir "$out/data" \
  --log-level warn >"$out/store.out" 2>"$out/store.log" & pids+=($!)
wait_up "$out/store.out" >/dev/null
for _ in $(seq 1 600); do grep -q 'organizer:' "$out/store.out" && break; sleep 0.1; done
mongo=$(grep -m1 -o -- '--mongo-uri .*' "$out/store.out" | cut -d' ' -f2)
org=$(grep -m1 'organizer:' "$out/store.out" | sed 's/.*token=//')
org=$(python3 -c 'import sys,urllib.parse;print(urllib.parse.unquote(sys.argv[1]))' "$org")
"$bin" serve --roles sfu --node-id bench-sfu-1 --redis-url "$redis" --prefix "$prefix" --mongo-uri "$mongo" \
  --listen 127.0.0.1:0 --sfu-udp-port 0 --sfu-tcp-port 0 --sfu-bind-ip 127.0.0.1 --data-dir "$out/data-sfu" \
  $(debug 0) \
  --log-level warn >"$out/sfu.out" 2>"$out/sfu.log" & pids+=($!)
sfu=$(wait_up "$out/sfu.out")
gws=()
for i in 1 2; do
  # shellcheck disable=SC2086
  "$bin" serve $(debug "$i") ${GW_ARGS:-} --roles signaling,chat,web --redis-url "$redis" --prefix "$prefix" --mongo-uri "$mongo" \
    --listen 127.0.0.1:0 --data-dir "$out/data-gw$i" --log-level warn >"$out/gw$i.out" 2>"$out/gw$i.log" & pids+=($!)
  gws+=("$(wait_up "$out/gw$i.out")")
done
echo "sfu $sfu, gateways ${gws[*]}, prefix $prefix" | tee "$out/cluster.txt"

# RSS of every server process every 10 s.
( while sleep 10; do
    for p in "${pids[@]}"; do printf '%s %s %s\n' "$(date +%s)" "$p" "$(awk '/VmRSS/{print $2}' /proc/$p/status 2>/dev/null)"; done
    uptime
  done ) >"$out/rss.log" 2>&1 & rsspid=$!

targets=$(IFS=,; echo "${gws[*]}")
runid="bench$(date +%s)"
lt=()
for ((i = 0; i < shards; i++)); do
  "$bin" loadtest --target "$targets" --tenant demo --organizer-token "$org" --scenario "$scenario" \
    --shard "$i/$shards" $(debug $((10 + i))) --run-id "$runid" --report "$out/shard-$i" $([ "$i" -gt 0 ] && echo --quiet) \
    2>"$out/shard-$i.log" & lt+=($!)
done
status=0
for p in "${lt[@]}"; do wait "$p" || status=$?; done
kill "$rsspid" 2>/dev/null || true
dirs=()
for ((i = 0; i < shards; i++)); do dirs+=("$out/shard-$i"); done
"$bin" loadtest merge --out "$out/merged" "${dirs[@]}" || status=$?
echo "merged report: $out/merged/report.json (shards exit $status)"
exit $status
