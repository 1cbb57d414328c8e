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
import EventEmitter from 'eventemitter3';
import type { GistService, GistServiceEvents, RecvMessageEvent } from '../gist/api';
import type { PathCoupledMri } from '../gist/types';
import { MemoryPinholeSet } from '../enforcement/memory';
import { NatfwNode } from '../natfw-nslp/core/node';
import { wireCodec } from '../natfw-nslp/core/codec-adapter';
import { runEnforcementJob } from '../natfw-nslp/core/enforcement-job';
import { seededRandom } from '../natfw-nslp/core/random';

const SEC = 1e9;

function hr(): bigint {
  return process.hrtime.bigint();
}

/**
 * Wall and CPU seconds since start. Rates are reported per CPU second of this
 * process (`value`) because the machine is shared (other processes steal the
 * cores, which wall time would charge to us); the wall-clock rate goes along
 * as context. On an idle machine the two agree within GC threads' share.
 */
function stopwatch(): () => { wall: number; cpu: number } {
  const w0 = hr();
  const c0 = process.cpuUsage();
  return () => {
    const c = process.cpuUsage(c0);
    return { wall: Number(hr() - w0) / SEC, cpu: (c.user + c.system) / 1e6 };
  };
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
async function setup(lab: NatfwVnetLab, n: number, lifetime: number, batch = 2000): Promise<{ ok: number; wall: number; cpu: number }> {
  const ni = lab.get('ni').node;
  let ok = 0;
  ni.events.on('established', () => ok++);
  const sw = stopwatch();
  for (let i = 0; i < n; i += batch) {
    for (let j = i; j < Math.min(n, i + batch); j++) ni.create(lab.now, { mri: flowN(lab, j), lifetime });
    await lab.runFor(50);
  }
  await lab.runFor(200);
  return { ok, ...sw() };
}

export const benches: BenchGroup[] = [
  {
    names: ['natfw.setup.3nf.inproc'],
    async run(emit) {
      await setup(line(3, 9), 1000, 600); // warm-up
      const N = 10_000;
      const lab = line(3);
      const r = await setup(lab, N, 600);
      emit({ bench: 'natfw.setup.3nf.inproc', value: round(r.ok / r.cpu), unit: 'sessions/s', perWallSecond: round(r.ok / r.wall), sessions: N, established: r.ok, nfs: 3 });
    },
  },
  {
    names: ['natfw.refresh.inproc', 'natfw.session.bytes'],
    async run(emit) {
      const gc = gcFn();
      const N = 100_000;
      const LT = 60; // s: refreshes come 5.7-17 s after setup (R = LT / 5.25)
      // Baseline: the same sessions without the NF (NI - NR), to subtract NI and NR state.
      gc();
      const base0 = process.memoryUsage().heapUsed;
      let baseLab: NatfwVnetLab | undefined = line(0, 3);
      await setup(baseLab, N, LT, 5000);
      // Let transient buffers go (GIST keeps recent D-mode Data for 4*T1): state, not traffic, is measured.
      await baseLab.runFor(1000);
      gc();
      const baseBytes = process.memoryUsage().heapUsed - base0;
      baseLab = undefined;
      gc();
      const with0 = process.memoryUsage().heapUsed;
      const lab = line(1, 4);
      const s = await setup(lab, N, LT, 5000);
      await lab.runFor(1000);
      gc();
      const with1 = process.memoryUsage().heapUsed;
      const nf = lab.get('nf1');
      emit({
        bench: 'natfw.session.bytes',
        value: round((with1 - with0 - baseBytes) / N),
        unit: 'bytes/session',
        sessions: nf.node.sessionCount,
        established: s.ok,
        gistRoutingStates: nf.gist.routingStateCount,
        pinholes: nf.pinholes.list().length,
        method: 'heap(NI-NF-NR) - heap(NI-NR), same sessions',
      });
      // Refresh: run the whole in-process path through one refresh window (virtual 1.5 R) and count
      // the refreshes the NF completed (RESPONSE back, pinhole refreshed).
      let refreshes = 0;
      nf.node.events.on('installed', () => refreshes++);
      const sw = stopwatch();
      await lab.runFor(Math.ceil((1.5 * LT * 1000) / 5.25) + 200);
      const t = sw();
      const nslpOnly = await nfOnlyRefreshRate(N);
      emit({
        bench: 'natfw.refresh.inproc',
        value: round(refreshes / t.cpu),
        unit: 'refreshes/s',
        perWallSecond: round(refreshes / t.wall),
        sessions: nf.node.sessionCount,
        refreshes,
        scope: 'NI-NF-NR in process, GIST included',
        nfNslpOnlyPerSec: round(nslpOnly),
      });
    },
  },
];

/**
 * The NF's own refresh cost without GIST: a NatfwNode on a stub GistService
 * holding `n` sessions; each refresh = CREATE in, CREATE forwarded, RESPONSE in,
 * enforcement refresh committed on the memory backend, RESPONSE forwarded.
 */
async function nfOnlyRefreshRate(n: number): Promise<number> {
  const events = new EventEmitter<GistServiceEvents>();
  const gist: GistService = { events, sendMessage: () => undefined, setStateLifetime: () => undefined, invalidateRoutingState: () => undefined, registerNslp: () => undefined };
  const node = new NatfwNode(gist, { addresses: ['198.18.1.1'], middlebox: { kind: 'firewall' }, random: seededRandom(1), codec: wireCodec });
  const set = new MemoryPinholeSet();
  const msg = (msn: number): { create: Uint8Array; resp: Uint8Array } => ({
    create: wireCodec.encode({ type: 'CREATE', proxy: false, edgeContinue: false, lifetime: 600, msn, efi: { ruleAction: 1, subPorts: 0 } }),
    resp: wireCodec.encode({ type: 'RESPONSE', info: { responseClass: 2, responseCode: 1, objectType: 0 }, msn, lifetime: 600 }),
  });
  const sids: Uint8Array[] = [];
  const mris: PathCoupledMri[] = [];
  for (let i = 0; i < n; i++) {
    const sid = new Uint8Array(16);
    new DataView(sid.buffer).setUint32(0, i + 1);
    sids.push(sid);
    mris.push(flowMri('198.18.0.1', '198.18.3.1', { sourcePort: 1024 + (i % 60000), destinationPort: 2000 + Math.floor(i / 60000) }));
  }
  const round1 = async (now: number, m: { create: Uint8Array; resp: Uint8Array }): Promise<void> => {
    for (let i = 0; i < n; i++) {
      const ev: RecvMessageEvent = { now, nslpData: m.create, nslpId: 33, sessionId: sids[i], mri: mris[i], routingStateCheck: now === 0, siiHandle: 1, transfer: { reliable: false }, ipDistance: 1, gistHopCount: 5 };
      events.emit('recvMessage', ev);
      events.emit('recvMessage', { ...ev, nslpData: m.resp, mri: { ...mris[i], direction: 'upstream' }, routingStateCheck: false, siiHandle: 2 });
      for (let job = node.pollEnforcement(); job !== undefined; job = node.pollEnforcement()) node.enforcementDone(now, job.jobId, await runEnforcementJob(set, job, now));
    }
  };
  await round1(0, msg(1));
  const sw = stopwatch();
  await round1(1000, msg(2));
  return n / sw().cpu;
}
