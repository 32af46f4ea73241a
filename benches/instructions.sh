#!/usr/bin/env bash
# Instructions per execution of each workload through the engine in process (callgrind), one
# caller on one thread: two runs of `loadtest --in-process`, 1 s and 3 s, and the difference of
# their instruction counts over the difference of their executions (start-up and registration
# cancel out). No warm-up: under valgrind the executions of a warm-up, which are not counted,
# vary from run to run with the machine's load. Two figures: `total` counts the whole process, so it also holds work that
# grows with time rather than executions (the load tester's sampling, idle scheduler wake-ups)
# and moves by ±20% with the machine's load; `per-call` counts only what runs inside the load
# tester's caller loop (`loadtest::run`'s caller task: the input's parsing, the engine, the
# output's check), which holds still: compare builds with it. `start_sync` polls the execution
# first in its caller's task (so `per-call` holds it when it ends in that poll, as every workload
# here does with the in-process `echo`) and makes the rest of one that waits a task of its own
# (`engine::waiting_sync`, so that a caller that goes away does not stop it): `execution` adds
# that task's instructions to `per-call`, which is what one execution costs its caller, setup and
# timers aside. (Builds before 2026-12-01's HTTP work spawned every execution, as
# `Engine::start_sync_of::{{closure}}::{{closure}}`; `execution` counts that too.)
# Needs `cargo build --release --workspace`, valgrind.
# Usage: benches/instructions.sh [WORKLOAD...]   (default: every workload in benches/workloads);
# LOADTEST=path measures another build of the load tester.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${LOADTEST:-target/release/loadtest}
[ -x "$bin" ] || { echo "build first: cargo build --release --workspace" >&2; exit 1; }
if [ $# -eq 0 ]; then
  set -- $(ls benches/workloads/*.asl.json | sed 's|.*/||; s|\.asl\.json$||')
fi
# Whether this build polls a sync execution in its caller first (it has `waiting_sync`).
new_sync=$(grep -c -a -m 1 'waiting_sync' "$bin" || true)
[ "$new_sync" = 0 ] && new_sync=
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# One run: prints "total-instructions call-instructions task-instructions executions".
measure() {
  local workload=$1 seconds=$2
  valgrind --tool=callgrind --callgrind-out-file="$out/cg" \
    "$bin" --in-process --workload "$workload" --concurrency 1 --threads 1 \
    --duration "$seconds" --warmup 0 --json >"$out/report" 2>"$out/valgrind"
  local instructions calls tasks executions
  instructions=$(sed -n 's/^summary: *//p; s/^totals: *//p' "$out/cg" | head -n 1)
  callgrind_annotate --inclusive=yes --threshold=100 "$out/cg" >"$out/annotated" 2>/dev/null
  calls=$(grep -E 'loadtest/src/main.rs:loadtest::run::\{\{closure\}\}::\{\{closure\}\} \[' "$out/annotated" |
    head -n 1 | awk '{gsub(",", "", $1); print $1}')
  # The spawned part: `waiting_sync` (this build), or the whole spawned execution (older ones).
  tasks=$({ grep -E 'src/runtime/engine.rs:statejet::runtime::engine::waiting_sync::\{\{closure\}\} \[' "$out/annotated" || true; } |
    head -n 1 | awk '{gsub(",", "", $1); print $1}')
  if [ -z "$new_sync" ]; then
    tasks=$(grep -E 'src/runtime/engine.rs:statejet::runtime::engine::Engine::start_sync_of::\{\{closure\}\}::\{\{closure\}\} \[' "$out/annotated" |
      head -n 1 | awk '{gsub(",", "", $1); print $1}')
  fi
  executions=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["executions"])' "$out/report")
  echo "$instructions ${calls:-0} ${tasks:-0} $executions"
}
printf '%-12s %14s %14s %14s\n' workload total per-call execution
for w in "$@"; do
  read -r i1 c1 t1 e1 < <(measure "$w" 1)
  read -r i3 c3 t3 e3 < <(measure "$w" 3)
  if [ "$e3" -le "$e1" ]; then
    echo "$w: the 3 s run did no more executions than the 1 s run ($e3 <= $e1)" >&2
    exit 1
  fi
  printf '%-12s %14d %14d %14d\n' "$w" $(( (i3 - i1) / (e3 - e1) )) $(( (c3 - c1) / (e3 - e1) )) \
    $(( (c3 + t3 - c1 - t1) / (e3 - e1) ))
done
