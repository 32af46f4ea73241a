#!/usr/bin/env bash
# Instructions per HTTP request of `statejet serve` (callgrind), without the shared machine's noise:
# StartSyncExecution of WORKLOAD (default pass10) and ListStateMachines, as loadtest/http.sh sends
# them, on one keep-alive connection, one request at a time.
#
#   loadtest/http-instructions.sh [-n REQUESTS] [-w WORKLOAD] [-k]
#
# Starts the release `statejet serve` (STATEJET=path for another build; one worker thread, logs
# OFF, one state machine) under valgrind's callgrind, sends 200 requests of each operation to warm
# it up, then for each operation zeroes the counters, sends REQUESTS (default 2000) and dumps them:
# the instructions of the whole process (hyper, tokio, the kernel-facing calls, the API, the engine)
# over REQUESTS. -k keeps the dumps (callgrind.out.*, for callgrind_annotate) in target/http-cg/.
set -euo pipefail
cd "$(dirname "$0")/.."
n=2000 workload=pass10 keep=
while getopts "n:w:kh" opt; do
  case $opt in
    n) n=$OPTARG ;;
    w) workload=$OPTARG ;;
    k) keep=1 ;;
    *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
bin=${STATEJET:-target/release/statejet}
[ -x "$bin" ] || { echo "build first: cargo build --release (or set STATEJET=path)" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "valgrind missing: apt-get install valgrind" >&2; exit 1; }
scratch=$(mktemp -d)
server=
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$scratch"
}
trap cleanup EXIT
mkdir "$scratch/definitions"
cp "benches/workloads/$workload.asl.json" "$scratch/definitions/"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
valgrind --tool=callgrind --callgrind-out-file="$scratch/callgrind.out.%p" \
  "$bin" serve --listen "127.0.0.1:$port" --definitions "$scratch/definitions" --log-level OFF \
  --logs /dev/null --threads 1 2>"$scratch/server.err" &
server=$!
for _ in $(seq 600); do
  curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$scratch/server.err" >&2; exit 1; }
  sleep 0.1
done
python3 - "$port" "$workload" "$n" "$server" "$scratch" <<'PY'
import http.client, json, subprocess, sys
port, workload, n, pid, scratch = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
arn = f"arn:aws:states:us-east-1:123456789012:stateMachine:{workload}"
text = json.dumps(json.load(open(f"benches/workloads/{workload}.input.json")), separators=(",", ":"))
ops = {
    "StartSyncExecution": (json.dumps({"stateMachineArn": arn, "input": text}), b'"status":"SUCCEEDED"'),
    "ListStateMachines": ("{}", arn.encode()),
}
conn = http.client.HTTPConnection("127.0.0.1", port)
def send(op, count):
    body, expect = ops[op]
    headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AWSStepFunctions." + op}
    for _ in range(count):
        conn.request("POST", "/", body, headers)
        r = conn.getresponse()
        answer = r.read()
        if r.status != 200 or expect not in answer:
            sys.exit(f"{op}: unexpected answer {r.status} {answer[:300]!r}")
def control(*args):
    subprocess.run(["callgrind_control", *args, pid], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
for op in ops:
    send(op, 200)
for op in ops:
    control("-z")
    send(op, n)
    control("-d", op)
PY
printf 'statejet serve (%s), workload %s, %d requests each, one connection, 1 worker thread\n' \
  "$(git rev-parse --short HEAD 2>/dev/null || echo '?')" "$workload" "$n"
for op in StartSyncExecution ListStateMachines; do
  file=$(grep -l "^desc: Trigger: .*$op" "$scratch"/callgrind.out.* | head -n 1)
  total=$(sed -n 's/^summary: *//p; s/^totals: *//p' "$file" | head -n 1)
  printf '%-20s %10d instructions per request\n' "$op" $(( total / n ))
  if [ -n "$keep" ]; then mkdir -p target/http-cg && cp "$file" "target/http-cg/callgrind.out.$op"; fi
done
