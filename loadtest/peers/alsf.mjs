// Runs one workload on aws-local-stepfunctions in this process, closed loop, and prints one JSON
// report in the shape of `loadtest --json` (executions_per_second, latency_ms, errors).
//
//   node alsf.mjs --module DIR/aws-local-stepfunctions --workloads DIR --workload NAME
//                 [--duration S] [--warmup S] [--concurrency N]
//
// Every Task state runs a local identity function (the workloads' `echo`), so the figure is the
// engine's own. Every output is compared with NAME.expected.json; a wrong one counts as an error
// and makes the exit status 1.

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isDeepStrictEqual } from 'node:util';

const args = { duration: 5, warmup: 1, concurrency: 1 };
for (let i = 2; i < process.argv.length; i += 2) {
  args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
}
for (const key of ['module', 'workloads', 'workload']) {
  if (!args[key]) {
    console.error(`alsf.mjs: --${key} is required`);
    process.exit(2);
  }
}

const { StateMachine } = await import(
  pathToFileURL(join(resolve(args.module), 'build/main.node.esm.js')).href
);
const file = (suffix) =>
  JSON.parse(readFileSync(join(args.workloads, `${args.workload}.${suffix}`), 'utf8'));
const definition = file('asl.json');
const input = file('input.json');
const expected = file('expected.json');

// Every Task state, at any depth (Parallel branches, Map item processors), runs `echo`.
const handlers = {};
(function collect(states) {
  for (const [name, state] of Object.entries(states ?? {})) {
    if (state.Type === 'Task') handlers[name] = async (x) => x;
    for (const branch of state.Branches ?? []) collect(branch.States);
    collect((state.ItemProcessor ?? state.Iterator)?.States);
  }
})(definition.States);

const machine = new StateMachine(definition);
const runOnce = () =>
  machine.run(structuredClone(input), { overrides: { taskResourceLocalHandlers: handlers } })
    .result;

// A first execution checks the set-up before any load.
const first = await runOnce();
if (!isDeepStrictEqual(first, expected)) {
  console.error(`alsf.mjs: the first execution returned ${JSON.stringify(first)}`);
  process.exit(1);
}

const now = () => Number(process.hrtime.bigint()) / 1e6; // milliseconds
const begin = now();
const measureFrom = begin + Number(args.warmup) * 1000;
const stopAt = measureFrom + Number(args.duration) * 1000;
const latencies = [];
const errors = {};

async function caller() {
  while (now() < stopAt) {
    const start = now();
    let error = null;
    try {
      if (!isDeepStrictEqual(await runOnce(), expected)) error = 'wrong output';
    } catch (e) {
      error = e?.name ?? String(e);
    }
    const end = now();
    if (start < measureFrom || end > stopAt) continue;
    if (error) errors[error] = (errors[error] ?? 0) + 1;
    else latencies.push(end - start);
  }
}
await Promise.all(Array.from({ length: Number(args.concurrency) }, caller));

latencies.sort((a, b) => a - b);
const at = (p) =>
  latencies.length ? latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)] : 0;
const seconds = Number(args.duration);
console.log(
  JSON.stringify({
    target: `aws-local-stepfunctions, in process (node ${process.version})`,
    workload: args.workload,
    load: `closed loop, ${args.concurrency} callers`,
    seconds,
    executions: latencies.length,
    executions_per_second: latencies.length / seconds,
    latency_ms: { p50: at(50), p90: at(90), p99: at(99), 'p99.9': at(99.9), max: at(100) },
    errors,
  }),
);
process.exit(errors['wrong output'] ? 1 : 0);
