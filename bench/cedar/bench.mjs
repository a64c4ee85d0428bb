// bench.mjs - time cedar-wasm on the differential's requests.
//
//   node bench.mjs [--passes N] [PROJECT_DIR] [OUT_DIR]
//     defaults: 3 passes, ../../fixtures/example, ../../tests/runtime/cedar
//
// Each request's call (principal, entities slice) is built before timing, so
// a sample is one cedar-wasm call: JS -> wasm conversion of the request and
// its entities, authorization, and the answer back. Each request is timed
// once per pass, in an order shuffled per pass (as bench/decide/decide.c's
// "once each" method times libstruere). One untimed warm-up pass first.
// Every answer is checked against decisions.jsonl after timing.

import fs from 'node:fs';
import path from 'node:path';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { loadProject } from './project.mjs';
import { cedarRequest, entityIndex, DEFAULT_PROJECT, DEFAULT_OUT } from './translate.mjs';
import { makeCedar } from './gen-requests.mjs';

const args = process.argv.slice(2);
let passes = 3;
const pi = args.indexOf('--passes');
if (pi >= 0) { passes = Number(args[pi + 1]); args.splice(pi, 2); }
const [proj = DEFAULT_PROJECT, outDir = DEFAULT_OUT] = args;

const model = loadProject(proj);
const policies = fs.readFileSync(path.join(outDir, 'policies.cedar'), 'utf8');
const index = entityIndex(JSON.parse(fs.readFileSync(path.join(outDir, 'entities.json'), 'utf8')));
const reqs = fs.readFileSync(path.join(outDir, 'decisions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const calls = reqs.map((r) => cedarRequest(model, index, r));

function time(name, run) {
  for (const c of calls) run(c); // warm-up
  const us = [];
  let answers;
  let seed = 0x2545f491n;
  const order = calls.map((_, i) => i);
  for (let p = 0; p < passes; p++) {
    answers = new Array(calls.length);
    for (let i = order.length; i > 1; i--) { // Fisher-Yates, fixed seed
      seed = (seed * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn;
      const j = Number((seed >> 33n) % BigInt(i));
      [order[i - 1], order[j]] = [order[j], order[i - 1]];
    }
    for (const i of order) {
      const t0 = process.hrtime.bigint();
      answers[i] = run(calls[i]);
      us.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
  }
  answers.forEach((a, i) => {
    if (a.type !== 'success' || a.response.decision !== reqs[i].decision)
      throw new Error(`${name}: answer differs from decisions.jsonl on line ${i + 1}`);
  });
  us.sort((a, b) => a - b);
  const median = us[us.length >> 1];
  const mean = us.reduce((s, x) => s + x, 0) / us.length;
  console.log(`cedar-wasm ${name}: median ${median.toFixed(1)} us, mean ${mean.toFixed(1)} us over ${us.length} requests (${calls.length} x ${passes} passes)`);
}

console.log(`cedar-wasm ${cedar.getCedarVersion()} (${cedar.getCedarSDKVersion?.() ?? ''}), node ${process.version}, ${calls.length} requests`);
const fast = makeCedar(policies);
time(fast.api, fast.run);
// For reference: the stateless call, which parses the policy set every time.
if (fast.api !== 'isAuthorized')
  time('isAuthorized', (c) => cedar.isAuthorized({ ...c, policies: { staticPolicies: policies } }));
