// reference.mjs - the permission semantics of DESIGN.md §6, written straight
// from the rules in plain JavaScript. It shares nothing with translate.mjs
// except the project loader, so agreeing with Cedar on every request shows the
// Cedar translation is faithful (and the decisions file trustworthy).

const UNRESOLVED = Symbol('unresolved');

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

// Dot path on the whole record, walking objects only (never into arrays).
function getPath(record, path) {
  let cur = record;
  for (const seg of path.split('.')) {
    if (!isObject(cur) || !Object.prototype.hasOwnProperty.call(cur, seg)) return { found: false };
    cur = cur[seg];
  }
  return { found: true, value: cur };
}

export function makeReference(model) {
  const roles = new Map(model.roles.map((r) => [r.slug, r]));
  const agents = new Map(model.agents.map((a) => [a.slug, a]));
  // (type slug, record ref) order, for the "first bound record" rule.
  const sortedRecords = [...model.records].sort((a, b) =>
    a.type < b.type ? -1 : a.type > b.type ? 1 : a._id < b._id ? -1 : a._id > b._id ? 1 : 0);

  function boundEntity(userId, roleSlugs) {
    for (const rec of sortedRecords) {
      const t = model.types.find((x) => x.slug === rec.type);
      if (!t || !t.boundToRole || !roleSlugs.includes(t.boundToRole)) continue;
      if (isObject(rec.data) && rec.data[t.userIdField] === userId) return rec._id;
    }
    return UNRESOLVED;
  }

  function actorContext(actor) {
    switch (actor.type) {
      case 'system': case 'admin':
        return { superuser: true };
      case 'agent': {
        const a = agents.get(actor.id);
        if (!a) throw new Error(`unknown agent ${actor.id}`);
        return { roles: a.roles, userId: a.slug, entityId: UNRESOLVED };
      }
      case 'user':
        return {
          roles: actor.roles,
          userId: actor.id,
          entityId: actor.entity !== undefined ? actor.entity : boundEntity(actor.id, actor.roles),
        };
      default:
        throw new Error(`unknown actor type ${actor.type}`);
    }
  }

  function resolveValue(v, ctx) {
    if (v === 'actor.userId') return ctx.userId;
    if (v === 'actor.organizationId') return model.orgId;
    if (v === 'actor.entityId') return ctx.entityId;
    if (v.startsWith('actor.relatedIds:')) {
      const rel = v.slice('actor.relatedIds:'.length);
      if (ctx.entityId === UNRESOLVED) return [];
      return model.relations.filter((r) => r.from === ctx.entityId && r.type === rel).map((r) => r.to);
    }
    if (v.startsWith('literal:')) return v.slice('literal:'.length);
    return v;
  }

  function ruleHolds(rule, record, ctx) {
    const value = resolveValue(rule.value, ctx);
    const f = getPath(record, rule.field);
    const fieldStr = f.found && typeof f.value === 'string' ? f.value : undefined;
    const eq = () => value !== UNRESOLVED && typeof value === 'string' && fieldStr !== undefined && fieldStr === value;
    switch (rule.operator) {
      case 'eq': return eq();
      case 'neq': return !eq();
      case 'in': return Array.isArray(value) && fieldStr !== undefined && value.includes(fieldStr);
      case 'contains': return typeof value === 'string' && fieldStr !== undefined && fieldStr.includes(value);
      default: throw new Error(`unknown operator ${rule.operator}`);
    }
  }

  const matches = (p, action, type) =>
    (p.resource === type || p.resource === '*') && (p.actions.includes(action) || p.actions.includes('*'));

  // Returns { decision, reason, ruleResults: [{ role, rule (index), holds }] }.
  function decide({ actor, action, resource, record }) {
    const ctx = actorContext(actor);
    if (ctx.superuser) return { decision: 'allow', reason: 'superuser', ruleResults: [] };
    const held = ctx.roles.map((s) => roles.get(s)).filter(Boolean);
    if (ctx.roles.length === 0) return { decision: 'deny', reason: 'no-role', ruleResults: [] };
    const hits = held.flatMap((r) => r.policies.filter((p) => matches(p, action, resource)).map((p) => ({ r, p })));
    if (hits.some((h) => h.p.effect === 'deny')) return { decision: 'deny', reason: 'policy-deny', ruleResults: [] };
    const granting = [...new Set(hits.filter((h) => h.p.effect === 'allow').map((h) => h.r))];
    if (granting.length === 0) return { decision: 'deny', reason: 'no-policy', ruleResults: [] };

    const rec = model.records.find((x) => x._id === record);
    if (!rec || rec.type !== resource) throw new Error(`record ${record} is not a ${resource}`);
    const ruleResults = [];
    let unscoped = false, scoped = false;
    for (const r of granting) {
      const rules = r.scopeRules.map((rule, i) => ({ rule, i })).filter((x) => x.rule.entityType === resource);
      if (rules.length === 0) { unscoped = true; continue; }
      let all = true;
      for (const { rule, i } of rules) {
        const holds = ruleHolds(rule, rec, ctx);
        ruleResults.push({ role: r.slug, rule: i, holds });
        all = all && holds;
      }
      scoped = scoped || all;
    }
    if (unscoped) return { decision: 'allow', reason: 'unscoped', ruleResults };
    if (scoped) return { decision: 'allow', reason: 'in-scope', ruleResults };
    return { decision: 'deny', reason: 'out-of-scope', ruleResults };
  }

  return { decide, boundEntity: (id, rs) => { const e = boundEntity(id, rs); return e === UNRESOLVED ? null : e; } };
}
