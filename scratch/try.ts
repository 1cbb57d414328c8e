import { readFileSync } from 'node:fs';
import { parseScenario } from '../sim/scenario/parse';
import { Simulation, summarize } from '../sim/engine';
import { ModelStack } from '../sim/model/model-stack';
(async () => {
  const p = parseScenario(readFileSync(process.argv[2], 'utf8'), { file: process.argv[2], sizeFactor: Number(process.argv[3] ?? 1) });
  if (!p.ok) { console.log(p.error.message); process.exit(2); }
  const t0 = Date.now();
  const r = await new Simulation(p.value, { stack: (env) => new ModelStack(env), stackName: 'model' }).run();
  console.log('wall', Date.now() - t0, 'events', r.events, JSON.stringify(r.messages), 'hs', r.handshakes, JSON.stringify(r.flows), JSON.stringify(summarize(r)));
  console.log(r.routeChanges.map((x) => ({ ...x, pending: x.pending.size })));
  for (const a of r.assertions) console.log(a.ok ? 'OK  ' : 'FAIL', a.id, a.message);
  console.log(r.timeline.slice(0, 30).map((x) => `${x.at / 1000}s ${x.kind} ${x.what}`).join('\n'));
})();
