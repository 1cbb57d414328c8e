const { loadScenario, runScenario } = require('../dist/sim/run');
const { resolveStack } = require('../dist/sim/stacks');
const { Simulation } = require('../dist/sim/engine');
(async () => {
  const sc = loadScenario(process.argv[2]).value;
  const from = Number(process.argv[3] ?? 0) * 1000, to = Number(process.argv[4] ?? 1e9) * 1000;
  const st = resolveStack(process.argv[5] ?? 'real');
  const sim = new Simulation(sc, { world: st.factory, stackName: st.name, onPacket: (now, p) => { if (now >= from && now <= to) console.log((now/1000).toFixed(3), p.label, p.transport, p.src, '->', p.dst, p.rao ? 'RAO' : '', p.payload.length); } });
  await sim.run();
})();
