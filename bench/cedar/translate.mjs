// translate.mjs - the example project's permission model as Cedar.
//
//   node translate.mjs [PROJECT_DIR] [OUT_DIR]
//     defaults: ../../fixtures/example  ../../tests/runtime/cedar
//   writes OUT_DIR/policies.cedar and OUT_DIR/entities.json
//
// Also a module: gen-requests.mjs and bench.mjs use translate() and
// cedarRequest() so the requests they send are built in one place.
//
// The mapping (see tests/runtime/cedar/README.md for the full story):
//   data type slug `progress-report`  -> entity type `progress_report`
//   fixture record                    -> progress_report::"<ref>" with the
//       record's own keys `_id`, `type`, `status`, `data`, plus `rel`, a
//       record of string sets: rel.<relationType> = refs it points to
//   role                              -> Role::"<slug>", a parent of its holders
//   agent                             -> Agent::"<slug>" { userId: slug }
//   user                              -> User::"<id>" { userId, bound? },
//       built per request: parents are its roles, `bound` the record that
//       actor.entityId resolves to (absent when unresolved)
//   system / admin                    -> Superuser::"system" / "admin"
//   action                            -> Action::"<create|read|update|delete|list>"

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadProject } from './project.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const RESERVED = new Set(['true', 'false', 'if', 'then', 'else', 'in', 'like', 'has', 'is', '__cedar']);
const OWN_TYPES = new Set(['Role', 'User', 'Agent', 'Superuser', 'Action']);
// The keys a record has; a rule field starting elsewhere is always absent.
const RECORD_KEYS = new Set(['_id', 'type', 'status', 'data']);
const isIdent = (s) => /^[_a-zA-Z][_a-zA-Z0-9]*$/.test(s) && !RESERVED.has(s);
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

export function cedarType(slug) {
  const t = slug.replace(/-/g, '_');
  if (!isIdent(t) || OWN_TYPES.has(t)) throw new Error(`data type '${slug}' has no Cedar type name`);
  return t;
}

// Cedar string literal; `star` also escapes '*' for a `like` pattern.
function str(s, star = false) {
  let out = '"';
  for (const c of s) {
    if (c === '"' || c === '\\' || (star && c === '*')) out += '\\' + c;
    else if (c < ' ' || c === '\x7f') out += `\\u{${c.codePointAt(0).toString(16)}}`;
    else out += c;
  }
  return out + '"';
}
const attr = (k) => (isIdent(k) ? `.${k}` : `[${str(k)}]`);
const hasAttr = (k) => (isIdent(k) ? k : str(k));

// JSON value -> Cedar entity attribute value. Cedar has no null and no
// floats: null becomes an absent key (no operator can tell the two apart:
// neither is a string), arrays become sets (rules never look inside arrays,
// and an array never equals a string).
function toCedar(v) {
  if (Array.isArray(v)) return v.filter((x) => x !== null).map(toCedar);
  if (isObject(v)) {
    const o = {};
    for (const [k, x] of Object.entries(v)) if (x !== null) o[k] = toCedar(x);
    return o;
  }
  if (typeof v === 'number' && !Number.isSafeInteger(v)) throw new Error(`number ${v}: not a Cedar Long`);
  return v;
}

// Cedar `has` and `like` fail on values of the wrong type instead of being
// false, so the translation relies on the data type schema: every record
// must have objects (or nothing) along a rule's path, and a string (or
// nothing) at a `contains` rule's field. Checked here rather than assumed.
function checkRulePath(model, rule) {
  const segs = rule.field.split('.');
  for (const rec of model.records.filter((r) => r.type === rule.entityType)) {
    let cur = rec;
    for (let i = 0; i < segs.length && cur !== undefined; i++) {
      if (!isObject(cur)) throw new Error(`${rec._id}: '${segs.slice(0, i).join('.')}' is not an object (rule on ${rule.field})`);
      cur = cur[segs[i]] ?? undefined;
    }
    if (rule.operator === 'contains' && cur !== undefined && typeof cur !== 'string')
      throw new Error(`${rec._id}: '${rule.field}' is not a string (contains rule)`);
  }
}

// A rule's field on `resource`: the guards that make it safe to read, and
// the expression; null when the path can never exist on a record.
function field(p) {
  const segs = p.split('.');
  if (!RECORD_KEYS.has(segs[0])) return null;
  let expr = `resource${attr(segs[0])}`;
  const guards = [];
  for (const s of segs.slice(1)) {
    guards.push(`${expr} has ${hasAttr(s)}`);
    expr += attr(s);
  }
  return { guards, expr };
}

// A rule value: a string (literal or dynamic) or a set (relatedIds).
function value(v, model) {
  if (v === 'actor.userId') return { expr: 'principal.userId', guards: [] };
  if (v === 'actor.organizationId') return { expr: str(model.orgId), literal: model.orgId, guards: [] };
  if (v === 'actor.entityId') return { expr: 'principal.bound._id', guards: ['principal has bound'] };
  if (v.startsWith('actor.relatedIds:'))
    return { expr: `principal.bound.rel${attr(v.slice(17))}`, guards: ['principal has bound'], set: true };
  const lit = v.startsWith('literal:') ? v.slice(8) : v;
  return { expr: str(lit), literal: lit, guards: [] };
}

function ruleExpr(rule, model) {
  const f = field(rule.field);
  const v = value(rule.value, model);
  const all = (parts) => (parts.length === 1 ? parts[0] : `(${parts.join(' && ')})`);
  const eq = () => (!f || v.set ? 'false' : all([...v.guards, ...f.guards, `${f.expr} == ${v.expr}`]));
  switch (rule.operator) {
    case 'eq': return eq();
    case 'neq': { const e = eq(); return e === 'false' ? 'true' : e.startsWith('(') ? `!${e}` : `!(${e})`; }
    case 'in': return !f || !v.set ? 'false' : all([...v.guards, ...f.guards, `${v.expr}.contains(${f.expr})`]);
    case 'contains':
      if (!f || v.set) return 'false';
      // `like` needs a literal pattern.
      if (v.literal === undefined) throw new Error(`contains with ${rule.value}: not translatable`);
      return all([...f.guards, `${f.expr} like "*${str(v.literal, true).slice(1, -1)}*"`]);
    default: throw new Error(`unknown operator ${rule.operator}`);
  }
}

function actionScope(actions) {
  if (actions.includes('*')) return 'action';
  const acts = [...new Set(actions)];
  return acts.length === 1 ? `action == Action::${str(acts[0])}`
    : `action in [${acts.map((a) => `Action::${str(a)}`).join(', ')}]`;
}

export function translate(model) {
  const typeSlugs = model.types.map((t) => t.slug);
  const relTypes = new Set(model.relations.map((r) => r.type));
  for (const role of model.roles)
    for (const rule of role.scopeRules) {
      checkRulePath(model, rule);
      if (rule.value.startsWith('actor.relatedIds:')) relTypes.add(rule.value.slice(17));
    }

  const out = [
    '// Generated by bench/cedar/translate.mjs from fixtures/example (eval view). Do not edit.',
    '',
    '// system and org admins bypass everything.',
    'permit (principal is Superuser, action, resource);',
  ];
  for (const role of model.roles) {
    const who = `principal in Role::${str(role.slug)}`;
    const rulesFor = (t) => role.scopeRules.filter((r) => r.entityType === t);
    const when = (t) => {
      const rs = rulesFor(t);
      return rs.length ? `\nwhen {\n  ${rs.map((r) => ruleExpr(r, model)).join(' &&\n  ')}\n}` : '';
    };
    out.push('', `// ---- role ${role.slug}`);
    role.policies.forEach((p, i) => {
      const act = actionScope(p.actions);
      // A comment, not an @id annotation: annotations double cedar-wasm's
      // time per call (4.13), and the bench should not handicap Cedar.
      const tag = (t) => `// ${role.slug} policy ${i}${t ? ` (${t})` : ''}\n`;
      if (p.effect === 'deny') {
        // A deny ignores scope rules.
        const res = p.resource === '*' ? 'resource' : `resource is ${cedarType(p.resource)}`;
        out.push(`${tag()}forbid (${who}, ${act}, ${res});`);
      } else if (p.resource !== '*') {
        out.push(`${tag()}permit (${who}, ${act}, resource is ${cedarType(p.resource)})${when(p.resource)};`);
      } else {
        // `*` grants every type, each still under this role's rules for it.
        const scoped = typeSlugs.filter((t) => rulesFor(t).length);
        for (const t of scoped) out.push(`${tag(t)}permit (${who}, ${act}, resource is ${cedarType(t)})${when(t)};`);
        const others = scoped.length ? `\nunless { ${scoped.map((t) => `resource is ${cedarType(t)}`).join(' || ')} }` : '';
        out.push(`${tag('*')}permit (${who}, ${act}, resource)${others};`);
      }
    });
  }

  const uid = (type, id) => ({ type, id });
  const entities = [
    { uid: uid('Superuser', 'system'), attrs: {}, parents: [] },
    { uid: uid('Superuser', 'admin'), attrs: {}, parents: [] },
    ...model.roles.map((r) => ({ uid: uid('Role', r.slug), attrs: {}, parents: [] })),
    ...model.agents.map((a) => ({
      uid: uid('Agent', a.slug), attrs: { userId: a.slug }, parents: a.roles.map((r) => uid('Role', r)),
    })),
    ...model.records.map((rec) => {
      const rel = {};
      for (const t of [...relTypes].sort())
        rel[t] = model.relations.filter((r) => r.from === rec._id && r.type === t).map((r) => r.to);
      return {
        uid: uid(cedarType(rec.type), rec._id),
        attrs: { _id: rec._id, type: rec.type, status: rec.status, data: toCedar(rec.data), rel },
        parents: [],
      };
    }),
  ];
  return { policies: out.join('\n') + '\n', entities };
}

// The record a user's actor.entityId resolves to: the bound types (those
// whose boundToRole the user holds) in slug order, each type's records in
// ref order, the first whose data[userIdField] is the user id.
function boundRecord(model, userId, roles) {
  const bound = model.types.filter((t) => t.boundToRole && roles.includes(t.boundToRole))
    .sort((a, b) => (a.slug < b.slug ? -1 : a.slug > b.slug ? 1 : 0));
  for (const t of bound) {
    const recs = model.records.filter((r) => r.type === t.slug).sort((a, b) => (a._id < b._id ? -1 : 1));
    const hit = recs.find((r) => isObject(r.data) && r.data[t.userIdField] === userId);
    if (hit) return hit._id;
  }
  return null;
}

// The Cedar call for one request { actor, action, resource, record }: the
// principal (built here for users), and the entities the decision can read:
// the principal, its roles, the resource and the principal's bound record.
export function cedarRequest(model, index, req) {
  const { actor } = req;
  const get = (type, id) => {
    const e = index.get(`${type}\0${id}`);
    if (!e) throw new Error(`no entity ${type}::${id}`);
    return e;
  };
  let principal;
  if (actor.type === 'system' || actor.type === 'admin') principal = get('Superuser', actor.type);
  else if (actor.type === 'agent') principal = get('Agent', actor.id);
  else {
    const ref = actor.entity !== undefined ? actor.entity : boundRecord(model, actor.id, actor.roles);
    const attrs = { userId: actor.id };
    if (ref !== null) {
      const rec = model.records.find((r) => r._id === ref);
      if (!rec) throw new Error(`entity override ${ref}: no such record`);
      attrs.bound = { __entity: { type: cedarType(rec.type), id: ref } };
    }
    principal = { uid: { type: 'User', id: actor.id }, attrs, parents: actor.roles.map((r) => ({ type: 'Role', id: r })) };
  }
  const resource = get(cedarType(req.resource), req.record);
  const slice = [principal, resource];
  for (const p of principal.parents) if (index.has(`Role\0${p.id}`)) slice.push(get('Role', p.id));
  const b = principal.attrs.bound?.__entity;
  if (b && !(b.type === resource.uid.type && b.id === resource.uid.id)) slice.push(get(b.type, b.id));
  return {
    principal: principal.uid,
    action: { type: 'Action', id: req.action },
    resource: resource.uid,
    context: {},
    entities: slice,
  };
}

export const entityIndex = (entities) => new Map(entities.map((e) => [`${e.uid.type}\0${e.uid.id}`, e]));

export const DEFAULT_PROJECT = path.resolve(HERE, '../../fixtures/example');
export const DEFAULT_OUT = path.resolve(HERE, '../../tests/runtime/cedar');

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [proj = DEFAULT_PROJECT, outDir = DEFAULT_OUT] = process.argv.slice(2);
  const { policies, entities } = translate(loadProject(proj));
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'policies.cedar'), policies);
  // One entity per line: readable, and diffs stay small.
  fs.writeFileSync(path.join(outDir, 'entities.json'), `[\n${entities.map((e) => JSON.stringify(e)).join(',\n')}\n]\n`);
  console.log(`wrote ${path.join(outDir, 'policies.cedar')} and entities.json (${entities.length} entities)`);
}
