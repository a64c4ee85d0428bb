// bench/serve/peer.mjs - the peer of bench/serve.sh: the Node.js HTTP
// server a user would write instead of struere serve, deciding with
// @cedar-policy/cedar-wasm on the example project's policies as
// bench/cedar translates them (tests/runtime/cedar/policies.cedar,
// entities.json). POST /v1/authorize takes serve's body ({"actor",
// "action", "resource", "recordId"}, an agent as {"type": "agent",
// "slug"}) with "Authorization: Bearer KEY", builds the Cedar call with
// bench/cedar/translate.mjs's cedarRequest (the principal, its roles, the
// record and the bound record as entities; the policy set parsed once),
// and answers {"decision", "reasons"}. Node's cluster module runs one
// worker per core (PEER_WORKERS), as serve runs a thread pool.
//
//   node peer.mjs PORT KEY
// Run from anywhere: modules resolve from bench/cedar (its `npm ci`).

import cluster from 'node:cluster';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadProject } from '../cedar/project.mjs';
import { cedarRequest, entityIndex, DEFAULT_PROJECT, DEFAULT_OUT } from '../cedar/translate.mjs';
import { makeCedar } from '../cedar/gen-requests.mjs';

const [port, key] = process.argv.slice(2);
const workers = Number(process.env.PEER_WORKERS || os.availableParallelism?.() || os.cpus().length);

if (cluster.isPrimary && workers > 1) {
  for (let i = 0; i < workers; i++) cluster.fork();
  let up = 0;
  cluster.on('listening', () => { if (++up === workers) console.error(`peer: listening on 127.0.0.1:${port}, ${workers} workers`); });
  cluster.on('exit', (w, code) => { if (code) { console.error(`peer: a worker exited with ${code}`); process.exit(1); } });
  process.on('SIGTERM', () => { for (const w of Object.values(cluster.workers)) w.kill(); process.exit(0); });
} else {
  const model = loadProject(DEFAULT_PROJECT);
  const index = entityIndex(JSON.parse(fs.readFileSync(path.join(DEFAULT_OUT, 'entities.json'), 'utf8')));
  const engine = makeCedar(fs.readFileSync(path.join(DEFAULT_OUT, 'policies.cedar'), 'utf8'));
  const want = `Bearer ${key}`;
  const send = (res, status, obj) => {
    const b = JSON.stringify(obj);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(b) });
    res.end(b);
  };
  const server = http.createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/v1/authorize') return send(res, 404, { error: { code: 'not_found', message: 'no route' } });
    if (req.headers.authorization !== want) return send(res, 401, { error: { code: 'unauthorized', message: 'bad key' } });
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let q;
      try { q = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch (e) {
        return send(res, 400, { error: { code: 'invalid_json', message: String(e.message) } });
      }
      try {
        const a = q.actor || {};
        const actor = a.type === 'agent' ? { type: 'agent', id: a.slug } : a;
        const call = cedarRequest(model, index, { actor, action: q.action, resource: q.resource, record: q.recordId });
        const r = engine.run(call);
        if (r.type !== 'success') return send(res, 500, { error: { code: 'cedar', message: JSON.stringify(r.errors) } });
        send(res, 200, { decision: r.response.decision, reasons: r.response.diagnostics.reason });
      } catch (e) {
        send(res, 400, { error: { code: 'bad_request', message: String(e.message) } });
      }
    });
  });
  server.keepAliveTimeout = 10000;
  server.listen(Number(port), '127.0.0.1', () => { if (workers <= 1) console.error(`peer: listening on 127.0.0.1:${port}, 1 process`); });
}
