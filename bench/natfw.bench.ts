/**
 * NATFW NSLP benchmarks (in-process, sim/vnet + the real GIST core + memory
 * enforcement backends; virtual time, wall-clock cost):
 *   natfw.setup.3nf.inproc  sessions set up per second through NI - NF1 - NF2 - NF3 - NR,
 *                           CREATE sent to successful RESPONSE received, GIST handshakes included
 *   natfw.refresh.inproc    refresh CREATEs per second processed at one NF that holds 100,000
 *                           sessions (decode, checks, forward, RESPONSE, enforcement refresh)
 *   natfw.session.bytes     heap bytes per session at an NF (GIST + NSLP + pinhole state), at
 *                           100,000 sessions: heap of NI-NF-NR minus heap of NI-NR for the same sessions
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { BenchGroup } from './harness';
import { round } from './harness';
import { flowMri, NatfwVnetLab } from '../test/natfw-nslp/core/harness';

const SEC = 1e9;

function hr(): bigint {
  return process.hrtime.bigint();
}

function gcFn(): () => void {
  setFlagsFromString('--expose-gc');
  const g = runInNewContext('gc') as (() => void) | undefined;
  return () => {
    if (g !== undefined) {
      g();
      g();
    }
  };
}

/** NI - NF x nfs - NR on a line. */
function line(nfs: number, seed = 1): NatfwVnetLab {
  const lab = new NatfwVnetLab({ seed });
  const natfw = { nrMaxLifetime: 3600 };
  const gist = { routingStateValidityMs: 600_000, defaultStateLifetimeMs: 3_600_000 };
  lab.add('ni', ['198.18.0.1'], { natfw, gist });
  let prev = 'ni';
  for (let i = 1; i <= nfs; i++) {
    const name = `nf${i}`;
    lab.add(name, [`198.18.${i - 1}.2`, `198.18.${i}.1`], { natfw, gist, middlebox: { kind: 'firewall', policy: { maxLifetime: 3600, minLifetime: 1, allowDeny: true } } });
    lab.link(prev, name);
    prev = name;
  }
  lab.add('nr', [`198.18.${nfs}.2`], { natfw, gist });
  lab.link(prev, 'nr');
  return lab;
}

function flowN(lab: NatfwVnetLab, i: number): ReturnType<typeof flowMri> {
  const nr = lab.get('nr').addresses[0];
  return flowMri('198.18.0.1', nr, { sourcePort: 1024 + (i % 60000), destinationPort: 2000 + Math.floor(i / 60000) });
}

/** Creates `n` sessions in batches; returns established count and wall seconds. */
async function setup(lab: NatfwVnetLab, n: number, lifetime: number, batch = 2000): Promise<{ ok: number; seconds: number }> {
  const ni = lab.get('ni').node;
  let ok = 0;
  ni.events.on('established', () => ok++);
  const t0 = hr();
  for (let i = 0; i < n; i += batch) {
    for (let j = i; j < Math.min(n, i + batch); j++) ni.create(lab.now, { mri: flowN(lab, j), lifetime });
    await lab.runFor(50);
  }
  await lab.runFor(200);
  return { ok, seconds: Number(hr() - t0) / SEC };
}

export const benches: BenchGroup[] = [
  {
    names: ['natfw.setup.3nf.inproc'],
    async run(emit) {
      await setup(line(3, 9), 1000, 600); // warm-up
      const N = 10_000;
      const lab = line(3);
      const r = await setup(lab, N, 600);
      emit({ bench: 'natfw.setup.3nf.inproc', value: round(r.ok / r.seconds), unit: 'sessions/s', sessions: N, established: r.ok, nfs: 3 });
    },
  },
  {
    names: ['natfw.refresh.inproc', 'natfw.session.bytes'],
    async run(emit) {
      const gc = gcFn();
      const N = 100_000;
      // Baseline: the same sessions without the NF (NI - NR).
      gc();
      const base0 = process.memoryUsage().heapUsed;
      const baseLab = line(0, 3);
      const b = await setup(baseLab, N, 3000, 5000);
      gc();
      const base1 = process.memoryUsage().heapUsed;
      const baseBytes = base1 - base0;
      void b;
      baseLab.nodes.clear();
      gc();
      const with0 = process.memoryUsage().heapUsed;
      const lab = line(1, 4);
      const s = await setup(lab, N, 3000, 5000);
      gc();
      const with1 = process.memoryUsage().heapUsed;
      const nf = lab.get('nf1');
      emit({
        bench: 'natfw.session.bytes',
        value: round((with1 - with0 - baseBytes) / N),
        unit: 'bytes/session',
        sessions: nf.node.sessionCount,
        established: s.ok,
        gistStates: nf.gist.routingStateCount,
        pinholes: nf.pinholes.list().length,
      });
      // Refresh: run the lab through one full refresh period; count refreshes the NF forwarded.
      let refreshes = 0;
      nf.node.events.on('installed', () => refreshes++);
      const t0 = hr();
      const span = Math.ceil((3000 * 1000) / 5.25 / 10);
      await lab.runFor(span);
      const sec = Number(hr() - t0) / SEC;
      emit({ bench: 'natfw.refresh.inproc', value: round(refreshes / sec), unit: 'refreshes/s', sessions: nf.node.sessionCount, refreshes, note: 'whole in-process path NI-NF-NR incl. GIST' });
    },
  },
];
