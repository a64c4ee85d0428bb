// gen-requests.mjs - the Cedar differential's requests and decisions.
//
//   node gen-requests.mjs [--seed N] [PROJECT_DIR] [OUT_DIR]
//     defaults: seed 1, ../../fixtures/example, ../../tests/runtime/cedar
//   reads OUT_DIR/policies.cedar and OUT_DIR/entities.json (translate.mjs),
//   writes OUT_DIR/decisions.jsonl
//
// Generates requests deterministically, asks cedar-wasm for each decision,
// and asks reference.mjs too; any disagreement (or any Cedar error) fails the
// run, so a decisions file is only ever written from a proven translation.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { loadProject } from './project.mjs';
import { makeReference } from './reference.mjs';
import { cedarRequest, entityIndex, DEFAULT_PROJECT, DEFAULT_OUT } from './translate.mjs';

export const ACTIONS = ['create', 'read', 'update', 'delete', 'list'];

// mulberry32: tiny, seedable, the same numbers on every Node version.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle(xs, rnd) {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

function subsets(xs, max) {
  const out = [[]];
  for (const x of xs) for (const s of [...out]) if (s.length < max) out.push([...s, x]);
  return out.sort((a, b) => a.length - b.length);
}

// Every actor paired with every (action, record) of the example, each pair
// kept with a probability chosen per actor: all of them for system, admin,
// agents and single-role users; a sample for role combinations.
export function generate(model, seed) {
  const rnd = prng(seed);
  const pairs = ACTIONS.flatMap((action) => model.records.map((r) => ({ action, resource: r.type, record: r._id })));
  const roleSlugs = model.roles.map((r) => r.slug);

  // Every user id a bound record carries, plus ids that bind to nothing
  // (one is a guardian without a portal login, one an agent's slug).
  const boundIds = [];
  for (const t of model.types.filter((x) => x.boundToRole))
    for (const r of model.records.filter((x) => x.type === t.slug)) {
      const id = r.data?.[t.userIdField];
      if (typeof id === 'string' && !boundIds.includes(id)) boundIds.push(id);
    }
  const userIds = [...boundIds, 'user_office_kim', 'user_priya_shah', model.agents[0].slug];

  const plan = [
    { actor: { type: 'system' }, keep: 1 },
    { actor: { type: 'admin' }, keep: 1 },
    ...model.agents.map((a) => ({ actor: { type: 'agent', id: a.slug }, keep: 1 })),
  ];
  for (const id of userIds)
    for (const roles of subsets(roleSlugs, 3))
      plan.push({ actor: { type: 'user', id, roles: shuffle(roles, rnd) }, keep: roles.length === 0 ? 0.2 : roles.length === 1 ? 1 : 0.15 });
  // Explicit entity overrides: any record, under role sets that have rules
  // reading actor.entityId / relatedIds.
  const scoped = model.roles.filter((r) => r.scopeRules.some((x) => x.value.startsWith('actor.'))).map((r) => r.slug);
  for (const id of userIds)
    for (let k = 0; k < 3; k++) {
      const roles = shuffle([scoped[Math.floor(rnd() * scoped.length)],
        ...shuffle(roleSlugs, rnd).slice(0, Math.floor(rnd() * 3))].filter((r, i, a) => a.indexOf(r) === i), rnd);
      const entity = model.records[Math.floor(rnd() * model.records.length)]._id;
      plan.push({ actor: { type: 'user', id, roles, entity }, keep: 0.4 });
    }

  const reqs = [];
  for (const { actor, keep } of plan)
    for (const p of pairs) if (keep === 1 || rnd() < keep) reqs.push({ actor, ...p });
  return reqs;
}

// Cedar, through the preparsed policy set when this cedar-wasm has one.
export function makeCedar(policies) {
  if (typeof cedar.statefulIsAuthorized === 'function' && typeof cedar.preparsePolicySet === 'function') {
    const r = cedar.preparsePolicySet('struere', { staticPolicies: policies });
    if (r.type !== 'success') throw new Error(`preparsePolicySet: ${JSON.stringify(r.errors)}`);
    return { api: 'statefulIsAuthorized', run: (call) => cedar.statefulIsAuthorized({ ...call, preparsedPolicySetId: 'struere' }) };
  }
  return { api: 'isAuthorized', run: (call) => cedar.isAuthorized({ ...call, policies: { staticPolicies: policies } }) };
}

function main() {
  const args = process.argv.slice(2);
  let seed = 1;
  const si = args.indexOf('--seed');
  if (si >= 0) { seed = Number(args[si + 1]); args.splice(si, 2); }
  const [proj = DEFAULT_PROJECT, outDir = DEFAULT_OUT] = args;

  const model = loadProject(proj);
  const policies = fs.readFileSync(path.join(outDir, 'policies.cedar'), 'utf8');
  const index = entityIndex(JSON.parse(fs.readFileSync(path.join(outDir, 'entities.json'), 'utf8')));
  const ref = makeReference(model);
  const engine = makeCedar(policies);

  const reqs = generate(model, seed);
  const lines = [];
  const count = (m, k) => m.set(k, (m.get(k) || 0) + 1);
  const byReason = new Map(), byKind = new Map(), byAction = new Map(), byType = new Map(), byRule = new Map();
  const records = new Set();
  let allows = 0, bad = 0, resolved = 0, unresolved = 0;
  for (const req of reqs) {
    const ans = engine.run(cedarRequest(model, index, req));
    if (ans.type !== 'success' || ans.response.diagnostics.errors.length)
      throw new Error(`Cedar failed on ${JSON.stringify(req)}: ${JSON.stringify(ans.errors || ans.response.diagnostics.errors)}`);
    const got = ans.response.decision;
    const want = ref.decide(req);
    if (got !== want.decision) {
      if (bad++ < 20) console.error(`MISMATCH cedar=${got} reference=${want.decision} (${want.reason}) ${JSON.stringify(req)}`);
      continue;
    }
    lines.push(JSON.stringify({ actor: req.actor, action: req.action, resource: req.resource, record: req.record, decision: got }));
    if (got === 'allow') allows++;
    count(byReason, `${want.reason} -> ${got}`);
    count(byKind, `${req.actor.type}${req.actor.roles ? `/${req.actor.roles.length} roles` : ''}${req.actor.entity ? '/override' : ''} -> ${got}`);
    count(byAction, `${req.action} -> ${got}`);
    count(byType, `${req.resource} -> ${got}`);
    records.add(req.record);
    for (const r of want.ruleResults) count(byRule, `${r.role} rule ${r.rule} -> ${r.holds}`);
    if (req.actor.type === 'user' && req.actor.entity === undefined)
      ref.boundEntity(req.actor.id, req.actor.roles) ? resolved++ : unresolved++;
  }
  if (bad) { console.error(`${bad} of ${reqs.length} requests: Cedar and the reference evaluator disagree`); process.exit(1); }
  if (records.size !== model.records.length) { console.error('some fixture record is never requested'); process.exit(1); }

  fs.writeFileSync(path.join(outDir, 'decisions.jsonl'), lines.join('\n') + '\n');
  const pct = (n) => `${((100 * n) / lines.length).toFixed(1)}%`;
  console.log(`cedar-wasm ${cedar.getCedarVersion?.() ?? ''} via ${engine.api}, seed ${seed}`);
  console.log(`${lines.length} requests: ${allows} allow (${pct(allows)}), ${lines.length - allows} deny (${pct(lines.length - allows)}); Cedar == reference on all`);
  console.log(`users without entity override: ${resolved} with actor.entityId resolved, ${unresolved} unresolved`);
  for (const [title, m] of [['reason', byReason], ['actor', byKind], ['action', byAction], ['resource', byType], ['scope rule outcome (granting roles)', byRule]]) {
    console.log(`-- by ${title}`);
    for (const k of [...m.keys()].sort()) console.log(`  ${String(m.get(k)).padStart(6)}  ${k}`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
