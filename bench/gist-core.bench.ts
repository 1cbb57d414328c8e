/**
 * GIST core, in process (no sockets, no virtual network: the transmits of one
 * node are handed straight to the other):
 * - gist.handshake.inproc: completed Query/Response/Confirm handshakes per
 *   second (counted at the responder: Confirms accepted and state installed),
 *   D-mode, delayed state installation with Responder-Cookie HMACs.
 * - gist.data.inproc: D-mode Data messages per second over established
 *   routing state (1,000 sessions, both directions: the querier's and the
 *   responder's state), each delivered to the receiver's NSLP listener.
 * - gist.routingstate.bytes: heap bytes per routing-state entry at 100,000
 *   entries (the querier's established states, with their peer, timers and
 *   keys). Needs global.gc: measured in a child `node --expose-gc` unless
 *   this process already has it.
 */
import { spawnSync } from 'node:child_process';
import type { PathCoupledMri } from '../gist/types';
import { createGistNode, type GistNode } from '../gist/core';
import { SeededRandom } from '../sim/vnet/prng';
import { round, type BenchGroup } from './harness';

const NSLP = 33;
const A = '198.18.1.1';
const B = '198.18.2.2';

function nodes(seed: number): { a: GistNode; b: GistNode } {
  const ra = new SeededRandom(seed);
  const rb = new SeededRandom(seed + 1);
  // The core's own speed, not a sending policy: without the s5.3.3 D-mode rate limiter.
  const a = createGistNode({ addresses: [A], randomBytes: (n) => ra.bytes(n), dmodeRateLimit: false });
  const b = createGistNode({ addresses: [B], randomBytes: (n) => rb.bytes(n), dmodeRateLimit: false });
  a.registerNslp(NSLP);
  b.registerNslp(NSLP);
  return { a, b };
}

/** Hands every pending UDP transmit of `from` to `to` (the only kind a D-mode handshake produces). */
function drain(from: GistNode, to: GistNode, now: number): void {
  for (let t = from.pollTransmit(); t !== undefined; t = from.pollTransmit()) {
    if (t.kind !== 'udp') continue;
    to.handleDatagram(now, {
      local: t.destination,
      remote: t.source,
      bytes: t.bytes,
      qmode: t.qmode !== undefined ? { routerAlert: t.qmode.routerAlert, ipTtl: t.qmode.ipTtl } : undefined,
    });
  }
}

function flowMri(i: number): PathCoupledMri {
  return {
    mrm: 'path-coupled',
    ipVersion: 4,
    sourceAddress: A,
    destinationAddress: B,
    sourcePrefix: 32,
    destinationPrefix: 32,
    protocol: 17,
    sourcePort: 1024 + (i % 60000),
    destinationPort: 5000 + Math.floor(i / 60000),
    direction: 'downstream',
  };
}

const payload = new Uint8Array(32);

/** Runs `count` complete handshakes between a and b (one new session each); returns the sessions' ids. */
function handshakes(a: GistNode, b: GistNode, rnd: SeededRandom, from: number, count: number, now: number): void {
  for (let i = from; i < from + count; i++) {
    a.sendMessage(now, { nslpId: NSLP, sessionId: rnd.bytes(16), mri: flowMri(i), nslpData: payload });
    drain(a, b, now); // Query -> Response
    drain(b, a, now); // Response -> Confirm
    drain(a, b, now); // Confirm installs the state at b
  }
}

function measureHandshakes(): { perSec: number; total: number; perCpuSec: number } {
  const rnd = new SeededRandom(7);
  // Warm up, then batches of 10,000 on fresh nodes for at least ~1.5 s.
  {
    const { a, b } = nodes(1);
    handshakes(a, b, rnd, 0, 2000, 0);
  }
  let total = 0;
  let ns = 0n;
  let cpuUs = 0;
  for (let batch = 0; batch < 50 && ns < 1_500_000_000n; batch++) {
    const { a, b } = nodes(100 + batch);
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    handshakes(a, b, rnd, 0, 10_000, 0);
    ns += process.hrtime.bigint() - t0;
    const c = process.cpuUsage(c0);
    cpuUs += c.user + c.system;
    if (b.stats.confirmsAccepted !== 10_000 || a.routingStateCount !== 10_000) throw new Error(`handshakes incomplete: ${b.stats.confirmsAccepted}`);
    total += b.stats.confirmsAccepted;
  }
  // Wall-clock is the figure; CPU time (all threads, GC included) is context for a loaded machine.
  return { perSec: total / (Number(ns) / 1e9), total, perCpuSec: total / (cpuUs / 1e6) };
}

const DATA_SESSIONS = 1000;

function measureData(): { perSec: number; total: number; perCpuSec: number } {
  const rnd = new SeededRandom(11);
  const { a, b } = nodes(21);
  let delivered = 0;
  a.events.on('recvMessage', () => delivered++);
  b.events.on('recvMessage', () => delivered++);
  const sids: Uint8Array[] = [];
  for (let i = 0; i < DATA_SESSIONS; i++) {
    const sid = rnd.bytes(16);
    sids.push(sid);
    a.sendMessage(0, { nslpId: NSLP, sessionId: sid, mri: flowMri(i), nslpData: payload });
    drain(a, b, 0);
    drain(b, a, 0);
    drain(a, b, 0);
  }
  const down = Array.from({ length: DATA_SESSIONS }, (_, i) => flowMri(i));
  const up: PathCoupledMri[] = down.map((m) => ({ ...m, direction: 'upstream' }));
  const round = (): void => {
    for (let i = 0; i < DATA_SESSIONS; i++) {
      a.sendMessage(1, { nslpId: NSLP, sessionId: sids[i], mri: down[i], nslpData: payload });
      drain(a, b, 1);
      b.sendMessage(1, { nslpId: NSLP, sessionId: sids[i], mri: up[i], nslpData: payload });
      drain(b, a, 1);
    }
  };
  for (let w = 0; w < 5; w++) round();
  delivered = 0;
  let ns = 0n;
  let cpuUs = 0;
  for (let r = 0; r < 200 && ns < 1_500_000_000n; r++) {
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    round();
    ns += process.hrtime.bigint() - t0;
    const c = process.cpuUsage(c0);
    cpuUs += c.user + c.system;
  }
  return { perSec: delivered / (Number(ns) / 1e9), total: delivered, perCpuSec: delivered / (cpuUs / 1e6) };
}

const ENTRIES = 100_000;

/**
 * Builds a querier holding `count` established states; its responder is gone
 * when this returns. (A separate frame on purpose: a caller's interpreter
 * register holding the responder would keep it alive through gc().)
 */
function querierWithStates(count: number): GistNode {
  const rnd = new SeededRandom(9);
  const pair = nodes(3);
  handshakes(pair.a, pair.b, rnd, 0, count, 0);
  return pair.a;
}

/** V8 heap plus ArrayBuffer backing stores (heapUsed leaves out typed-array storage). */
function heapBytes(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Heap bytes per routing state at the querier (requires global.gc). */
function measureHeapPerEntry(gc: () => void): { bytesPerEntry: number; entries: number } {
  gc();
  gc();
  const before = heapBytes();
  const a = querierWithStates(ENTRIES);
  gc();
  gc();
  const after = heapBytes();
  const entries = a.routingStateCount;
  if (entries !== ENTRIES) throw new Error(`expected ${ENTRIES} states, have ${entries}`);
  return { bytesPerEntry: (after - before) / entries, entries };
}

const HEAP_CHILD_FLAG = '--gist-routingstate-heap-child';

if (process.argv.includes(HEAP_CHILD_FLAG)) {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) {
    process.stderr.write('gist-core bench child: started without --expose-gc\n');
    process.exit(1);
  }
  process.stdout.write(JSON.stringify(measureHeapPerEntry(gc)) + '\n');
}

function heapFigure(): { bytesPerEntry: number; entries: number; how: string } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) return { ...measureHeapPerEntry(gc), how: 'in-process' };
  const r = spawnSync(process.execPath, ['--expose-gc', __filename, HEAP_CHILD_FLAG], { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`heap child failed (${r.status}): ${r.stderr}`);
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  const v = JSON.parse(line) as { bytesPerEntry: number; entries: number };
  return { ...v, how: 'child --expose-gc' };
}

export const benches: BenchGroup[] = [
  {
    names: ['gist.handshake.inproc'],
    run(emit) {
      const h = measureHandshakes();
      emit({ bench: 'gist.handshake.inproc', value: round(h.perSec, 0), unit: 'handshakes/s', handshakes: h.total, perCpuSecond: round(h.perCpuSec, 0), mode: 'D', confirm: true });
    },
  },
  {
    names: ['gist.data.inproc'],
    run(emit) {
      const d = measureData();
      emit({ bench: 'gist.data.inproc', value: round(d.perSec, 0), unit: 'msgs/s', messages: d.total, perCpuSecond: round(d.perCpuSec, 0), mode: 'D', payloadBytes: payload.length });
    },
  },
  {
    names: ['gist.routingstate.bytes'],
    run(emit) {
      const h = heapFigure();
      emit({ bench: 'gist.routingstate.bytes', value: round(h.bytesPerEntry, 0), unit: 'bytes/entry', entries: h.entries, measured: h.how });
    },
  },
];
