const { runScenarioFile } = require('../dist/sim/run');
const { resolveStack } = require('../dist/sim/stacks');
(async () => {
  const t0 = Date.now();
  const r = await runScenarioFile(process.argv[2], { stack: resolveStack('model'), sizeFactor: Number(process.argv[3] ?? 1) });
  console.log('wall', Date.now() - t0, 'events', r.value.report.simulatedEvents, 'cpu', process.cpuUsage().user / 1000, 'rss', process.memoryUsage().rss >> 20);
})();
