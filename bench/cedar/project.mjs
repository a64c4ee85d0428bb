// project.mjs - load the parts of a struere project that the permission
// engine reads, as the eval bundle sees them.
//
// YAML is parsed with the `yaml` npm package (YAML 1.2 core schema, like the
// compiler's libyaml-based loader for everything the example uses). Each
// definition's `environments.eval` overlay is applied the way compiler/node.c
// node_merge does it: maps merge key by key, recursively; any other value
// replaces the base. Identity keys (name, slug) in an overlay are ignored, as
// the compiler reports and drops them.

import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

const ENV = 'eval';

function isMap(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function merge(base, overlay) {
  if (overlay === undefined) return base;
  if (!isMap(base) || !isMap(overlay)) return overlay;
  const out = {};
  for (const k of Object.keys(base)) out[k] = merge(base[k], overlay[k]);
  for (const k of Object.keys(overlay)) if (!(k in base)) out[k] = overlay[k];
  return out;
}

// The eval view of one definition: base without `environments`, merged with
// `environments.eval` minus identity keys.
function evalView(doc) {
  if (!isMap(doc)) throw new Error('definition is not a map');
  const { environments, ...base } = doc;
  const ov = isMap(environments) && isMap(environments[ENV]) ? { ...environments[ENV] } : undefined;
  if (ov) { delete ov.name; delete ov.slug; delete ov.environments; }
  return merge(base, ov);
}

function parseFile(file) {
  let text = fs.readFileSync(file, 'utf8');
  if (file.endsWith('.md')) {
    // Agents in Markdown: the definition is the front matter.
    const m = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?/.exec(text);
    if (!m) throw new Error(`${file}: no front matter`);
    text = m[1];
  }
  return YAML.parse(text);
}

// Byte order, as the compiler lists directories (compiler/project.c).
function listDir(dir, test) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir)
    .filter((n) => !n.startsWith('.') && test(n))
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    .map((n) => path.join(dir, n));
}

function load(dir, kind, test) {
  return listDir(path.join(dir, kind), test).map((f) => {
    const d = evalView(parseFile(f));
    if (typeof d.slug !== 'string' || !d.slug) throw new Error(`${f}: no slug (this tool needs explicit slugs)`);
    return d;
  });
}

const yamlFile = (n) => n.endsWith('.yaml') || n.endsWith('.yml');

// Returns { orgId, types, roles, agents, records, relations }:
//   types:   [{ slug, boundToRole?, userIdField, schema }]
//   roles:   [{ slug, policies, scopeRules }]
//   agents:  [{ slug, roles }]
//   records: [{ _id, type, status, data }] in fixture file / entity order
//   relations: [{ from, to, type }]
export function loadProject(dir) {
  const cfg = evalView(YAML.parse(fs.readFileSync(path.join(dir, 'struere.yaml'), 'utf8')));
  const orgId = (isMap(cfg.organization) && cfg.organization.id) || cfg.name;

  const types = load(dir, 'data', yamlFile).map((d) => ({
    slug: d.slug,
    boundToRole: d.boundToRole,
    userIdField: d.boundToRole ? d.userIdField || 'userId' : undefined,
    schema: d.schema,
  }));
  const roles = load(dir, 'roles', yamlFile).map((d) => ({
    slug: d.slug,
    policies: d.policies || [],
    scopeRules: d.scopeRules || [],
  }));
  const agents = load(dir, 'agents', (n) => yamlFile(n) || n.endsWith('.md'))
    .map((d) => ({ slug: d.slug, roles: d.roles || [] }));

  // Fixtures share one ref map across files; a repeated ref replaces the
  // earlier record (reference §2.6: last one wins) but keeps its position.
  const byRef = new Map();
  const relations = [];
  for (const fx of load(dir, 'fixtures', (n) => n.endsWith('.fixture.yaml') || n.endsWith('.fixture.yml'))) {
    for (const e of fx.entities || [])
      byRef.set(e.ref, { _id: e.ref, type: e.type, status: e.status ?? 'active', data: e.data ?? {} });
    for (const r of fx.relations || []) relations.push({ from: r.from, to: r.to, type: r.type });
  }
  return { orgId, types, roles, agents, records: [...byRef.values()], relations };
}
