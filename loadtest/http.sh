#!/usr/bin/env bash
# StartSyncExecution over HTTP against ListStateMachines on the same server, in one run, with wrk
# as the client (issue 17: the execution should cost little next to the request carrying it).
#
#   loadtest/http.sh [-d SECONDS] [-r ROUNDS] [-c CONNS[,CONNS...]] [-t WRK_THREADS] [-w WORKLOAD]
#                    [-s SERVER_THREADS]
#
# Starts the release `statejet serve` (STATEJET=path for another build) on a free loopback port with
# one state machine, WORKLOAD (default pass10, from benches/workloads, type EXPRESS, logs OFF),
# and drives it with wrk (Debian's package; installed with apt-get when missing): for each
# connection count, ROUNDS rounds (default 3) of SECONDS (default 5) of
# `AWSStepFunctions.StartSyncExecution` (stateMachineArn and the workload's input) and then of
# `AWSStepFunctions.ListStateMachines`, alternating so that both see the same machine. An answer
# counts as an error when it is not 200, or (StartSyncExecution) its body does not say
# "status":"SUCCEEDED", or (ListStateMachines) does not name the machine. Prints per round the
# requests/s of both, their ratio, the server's CPU (cores busy) and the load average, then the
# ratio of the sums. Defaults: -t 1 (one wrk thread: the client has one of the two cores at most)
# and -c 32. Server and client share the machine: compare the two operations within a run.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=5 rounds=3 conns=32 wrk_threads=1 workload=pass10 server_threads=
while getopts "d:r:c:t:w:s:h" opt; do
  case $opt in
    d) duration=$OPTARG ;;
    r) rounds=$OPTARG ;;
    c) conns=$OPTARG ;;
    t) wrk_threads=$OPTARG ;;
    w) workload=$OPTARG ;;
    s) server_threads=$OPTARG ;;
    *) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
bin=${STATEJET:-target/release/statejet}
[ -x "$bin" ] || { echo "build first: cargo build --release (or set STATEJET=path)" >&2; exit 1; }
definition=benches/workloads/$workload.asl.json
[ -f "$definition" ] || { echo "no workload $definition" >&2; exit 1; }
if ! command -v wrk >/dev/null; then
  echo "wrk missing: installing Debian's wrk with apt-get" >&2
  (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >&2
fi
scratch=$(mktemp -d)
server=
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$scratch"
}
trap cleanup EXIT
mkdir "$scratch/definitions"
cp "$definition" "$scratch/definitions/"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port/
"$bin" serve --listen "127.0.0.1:$port" --definitions "$scratch/definitions" --log-level OFF \
  --logs /dev/null ${server_threads:+--threads "$server_threads"} 2>"$scratch/server.err" &
server=$!
for _ in $(seq 100); do
  curl -fs "${url}health" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$scratch/server.err" >&2; exit 1; }
  sleep 0.1
done
arn="arn:aws:states:us-east-1:123456789012:stateMachine:$workload"
input=$(python3 -c 'import json,sys; print(json.dumps(json.dumps(json.load(open(sys.argv[1])), separators=(",", ":"))))' \
  "benches/workloads/$workload.input.json")
sync_body="{\"stateMachineArn\":\"$arn\",\"input\":$input}"
list_body='{}'
# Server CPU seconds so far (utime + stime of the process, all threads).
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$server/stat"; }
# One wrk run: prints "requests/s errors server-cores p50_us p99_us".
drive() {
  local target=$1 body=$2 expect=$3 c=$4 seconds=$5 before after out
  before=$(cpu)
  out=$(SJ_TARGET=$target SJ_BODY=$body SJ_EXPECT=$expect \
    wrk -t "$wrk_threads" -c "$c" -d "${seconds}s" --latency -s loadtest/wrk/api.lua "$url")
  after=$(cpu)
  echo "$out" >>"$scratch/wrk.out"
  local rps bad non2xx socket p50 p99
  rps=$(echo "$out" | awk '/^Requests\/sec:/ { print $2 }')
  bad=$(echo "$out" | awk '/^bad / { print $2 }')
  non2xx=$(echo "$out" | awk '/Non-2xx or 3xx responses:/ { print $NF }')
  socket=$(echo "$out" | awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10 }')
  p50=$(echo "$out" | awk '/^p50_us/ { print $2 }')
  p99=$(echo "$out" | awk '/^p50_us/ { print $4 }')
  if echo "$out" | grep -q '^first bad answer'; then echo "$out" | grep '^first bad answer' >&2; fi
  # A non-2xx answer is also counted by api.lua's check; socket errors are not.
  echo "$rps $(( ${bad:-0} + ${socket:-0} )) $(python3 -c "print(round(($after - $before) / $seconds, 2))") $p50 $p99"
  : "$non2xx"
}
# Both answer correctly before anything is measured (and warm the server up).
drive StartSyncExecution "$sync_body" '"status":"SUCCEEDED"' 4 1 >/dev/null
drive ListStateMachines "$list_body" "\"$arn\"" 4 1 >/dev/null
echo "statejet serve $("$bin" --version 2>/dev/null | awk '{print $NF}') ($(git rev-parse --short HEAD 2>/dev/null || echo '?')), workload $workload, $(nproc) cores, wrk -t$wrk_threads, ${duration}s a run, $(date -u '+%Y-%m-%d %H:%M UTC')"
printf '%-5s %-5s %12s %7s %6s %7s %12s %7s %6s %7s %7s %s\n' conns round 'sync/s' errors cores 'p99_ms' \
  'list/s' errors cores 'p99_ms' ratio 'load average'
for c in ${conns//,/ }; do
  sum_s=0 sum_l=0
  for r in $(seq "$rounds"); do
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    read -r s_rps s_err s_cores _ s_p99 < <(drive StartSyncExecution "$sync_body" '"status":"SUCCEEDED"' "$c" "$duration")
    read -r l_rps l_err l_cores _ l_p99 < <(drive ListStateMachines "$list_body" "\"$arn\"" "$c" "$duration")
    sum_s=$(python3 -c "print($sum_s + $s_rps)") sum_l=$(python3 -c "print($sum_l + $l_rps)")
    printf '%-5s %-5s %12.0f %7d %6.2f %7.2f %12.0f %7d %6.2f %7.2f %7.3f %s\n' "$c" "$r" "$s_rps" "$s_err" \
      "$s_cores" "$(python3 -c "print($s_p99 / 1000)")" "$l_rps" "$l_err" "$l_cores" \
      "$(python3 -c "print($l_p99 / 1000)")" "$(python3 -c "print($s_rps / $l_rps)")" "$load"
  done
  printf '%-5s %-5s %12.0f %7s %6s %7s %12.0f %7s %6s %7s %7.3f %s\n' "$c" mean \
    "$(python3 -c "print($sum_s / $rounds)")" '' '' '' "$(python3 -c "print($sum_l / $rounds)")" '' '' '' \
    "$(python3 -c "print($sum_s / $sum_l)")" "$(cut -d' ' -f1-3 /proc/loadavg)"
done
