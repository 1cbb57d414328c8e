/**
 * NATFW NSLP benchmarks (in-process, sim/vnet + the real GIST core + memory
 * enforcement backends; virtual time, wall-clock cost):
 *   natfw.setup.3nf.inproc  sessions set up per second through NI - NF1 - NF2 - NF3 - NR,
 *                           CREATE sent to successful RESPONSE received, GIST handshakes included
 *   natfw.setup.3nf.auth.inproc  the same with a SESSION_AUTH token (RFC 5981 HMAC_SIGNED,
 *                           AUTH_HMAC_SHA2_256_128) in every CREATE, required and checked at each NF
 *   natfw.refresh.inproc    refresh CREATEs per second processed at one NF that holds 100,000
 *                           sessions (decode, checks, forward, RESPONSE, enforcement refresh)
 *   natfw.session.bytes     heap bytes per session at an NF (GIST + NSLP + pinhole state), at
 *                           100,000 sessions: heap of NI-NF-NR minus heap of NI-NR for the same sessions;
 *                           context: the NSLP share (heap freed when the lab lets go of the NF's NATFW
 *                           node), the pinhole share (then of its memory pinhole set), GIST = the rest;
 *                           nslpAloneBytes: the NF's NatfwNode on a stub GIST fed fresh MRI / Session ID
 *                           objects (nothing shared with GIST)
 * Rates: `value` per CPU second of this process (the machine is shared); `perWallSecond` beside it.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { BenchGroup, BenchLine } from './harness';
import { round } from './harness';
import { flowMri, NatfwVnetLab } from '../test/natfw-nslp/core/harness';
import EventEmitter from 'eventemitter3';
import type { GistService, GistServiceEvents, RecvMessageEvent } from '../gist/api';
import type { PathCoupledMri } from '../gist/types';
import type { PinholeSet, Transaction } from '../enforcement/types';
import { MemoryPinholeSet } from '../enforcement/memory';
import { NatfwNode } from '../natfw-nslp/core/node';
import { wireCodec } from '../natfw-nslp/core/codec-adapter';
import { runEnforcementJob } from '../natfw-nslp/core/enforcement-job';
import { seededRandom } from '../natfw-nslp/core/random';
import type { NatfwNodeConfig } from '../natfw-nslp/core/node';
import type { SessionAuthObject } from '../natfw-nslp/codec';
import { HmacSessionAuthorizer } from '../natfw-nslp/auth/authorizer';
import { decodeSessionAuth } from '../natfw-nslp/auth/codec';
import { MemoryKeyStore } from '../natfw-nslp/auth/keys';
import { issueToken } from '../natfw-nslp/auth/token';

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

/**
 * Bytes the state occupies: the V8 heap plus ArrayBuffer backing stores, which heapUsed leaves
 * out (the memory backend's compact table and GIST's slabs keep their rows in typed arrays).
 */
function heapBytes(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
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

/** The key and the Unix time of virtual time 0 for the token benchmark. */
const AUTH_KEY = new Uint8Array(32).map((_, i) => i * 7 + 1);
const AUTH_T0 = Date.UTC(2026, 0, 1);

/** NI - NF x nfs - NR on a line; `auth`: every NF requires a SESSION_AUTH token in CREATE. */
function line(nfs: number, seed = 1, auth = false): NatfwVnetLab {
  const lab = new NatfwVnetLab({ seed });
  const natfw = { nrMaxLifetime: 3600 };
  const nfNatfw = (): Partial<NatfwNodeConfig> =>
    auth ? { ...natfw, authorizer: new HmacSessionAuthorizer({ requireForCreate: true, requireForExternal: true, clockOffsetMs: AUTH_T0 }, new MemoryKeyStore([{ keyId: 7, key: AUTH_KEY }])) } : natfw;
  // No s5.3.3 D-mode rate limiter: the figures are the cores' capacity (10,000 sessions start at one instant).
  const gist = { routingStateValidityMs: 600_000, defaultStateLifetimeMs: 3_600_000, dmodeRateLimit: false as const };
  lab.add('ni', ['198.18.0.1'], { natfw, gist });
  let prev = 'ni';
  for (let i = 1; i <= nfs; i++) {
    const name = `nf${i}`;
    lab.add(name, [`198.18.${i - 1}.2`, `198.18.${i}.1`], { natfw: nfNatfw(), gist, middlebox: { kind: 'firewall', policy: { maxLifetime: 3600, minLifetime: 1, allowDeny: true } } });
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

/**
 * One token per session (a token is bound to the first session that presents it), issued before
 * the clock starts: the authority's work is not the path's.
 */
function tokens(lab: NatfwVnetLab, n: number): SessionAuthObject[] {
  const nr = lab.get('nr').addresses[0];
  const out: SessionAuthObject[] = [];
  for (let i = 0; i < n; i++) {
    const f = flowN(lab, i);
    const raw = issueToken({
      key: AUTH_KEY,
      keyId: 7,
      src: [{ address: '198.18.0.1', length: 32 }],
      dst: [{ address: nr, length: 32 }],
      protocol: 17,
      srcPorts: { from: f.sourcePort ?? 0, to: f.sourcePort ?? 0 },
      dstPorts: { from: f.destinationPort ?? 0, to: f.destinationPort ?? 0 },
      notBefore: AUTH_T0 - 60_000,
      notAfter: AUTH_T0 + 3_600_000,
    });
    const d = decodeSessionAuth(raw);
    if (!d.ok) throw new Error(d.error.message);
    out.push(d.value);
  }
  return out;
}

/** What the figure claims: every session established at the NI, with its pinhole at every NF (checked after the clock stops). */
function checkPath(lab: NatfwVnetLab, n: number, ok: number, nfs: number, name: string): void {
  if (ok !== n) throw new Error(`${name}: ${ok} of ${n} sessions established`);
  for (let i = 1; i <= nfs; i++) {
    const size = lab.get(`nf${i}`).pinholes.size;
    if (size !== n) throw new Error(`${name}: nf${i} holds ${size} pinholes for ${n} sessions`);
  }
}

/** The JSON line of a setup figure: sessions per CPU second as the value, the wall rate beside it. */
function setupLine(bench: string, r: { ok: number; wall: number; cpu: number }, n: number): BenchLine {
  return {
    bench,
    value: round(r.ok / r.cpu),
    unit: 'sessions/s',
    perCpuSecond: round(r.ok / r.cpu),
    perWallSecond: round(r.ok / r.wall),
    cpuMs: round(r.cpu * 1000, 0),
    wallMs: round(r.wall * 1000, 0),
    sessions: n,
    established: r.ok,
    nfs: 3,
  };
}

/** Creates `n` sessions in batches; returns established count and wall seconds. */
async function setup(lab: NatfwVnetLab, n: number, lifetime: number, batch = 2000, auth?: readonly SessionAuthObject[]): Promise<{ ok: number; wall: number; cpu: number }> {
  const ni = lab.get('ni').node;
  let ok = 0;
  ni.events.on('established', () => ok++);
  const sw = stopwatch();
  for (let i = 0; i < n; i += batch) {
    for (let j = i; j < Math.min(n, i + batch); j++) ni.create(lab.now, { mri: flowN(lab, j), lifetime, ...(auth !== undefined ? { sessionAuth: [auth[j]] } : {}) });
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
      checkPath(lab, N, r.ok, 3, 'natfw.setup.3nf.inproc');
      emit(setupLine('natfw.setup.3nf.inproc', r, N));
    },
  },
  {
    names: ['natfw.setup.3nf.auth.inproc'],
    async run(emit) {
      const warm = line(3, 9, true);
      await setup(warm, 1000, 600, 2000, tokens(warm, 1000));
      const N = 10_000;
      const lab = line(3, 1, true);
      const auth = tokens(lab, N);
      const r = await setup(lab, N, 600, 2000, auth);
      checkPath(lab, N, r.ok, 3, 'natfw.setup.3nf.auth.inproc');
      emit({ ...setupLine('natfw.setup.3nf.auth.inproc', r, N), transform: 'AUTH_HMAC_SHA2_256_128' });
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
      const base0 = heapBytes();
      let baseLab: NatfwVnetLab | undefined = line(0, 3);
      await setup(baseLab, N, LT, 5000);
      // Let transient buffers go (GIST keeps recent D-mode Data for 4*T1): state, not traffic, is measured.
      await baseLab.runFor(1000);
      gc();
      const baseBytes = heapBytes() - base0;
      baseLab = undefined;
      gc();
      const with0 = heapBytes();
      const lab = line(1, 4);
      const s = await setup(lab, N, LT, 5000);
      await lab.runFor(1000);
      gc();
      const with1 = heapBytes();
      const nf = lab.get('nf1');
      const total = (with1 - with0 - baseBytes) / N;
      const sessions = nf.node.sessionCount;
      const gistRoutingStates = nf.gist.routingStateCount;
      const pinholes = nf.pinholes.list().length;
      // Refresh: run the whole in-process path through one refresh window (virtual 1.5 R) and count
      // the refreshes the NF completed (RESPONSE back, pinhole refreshed).
      let refreshes = 0;
      nf.node.events.on('installed', () => refreshes++);
      const sw = stopwatch();
      await lab.runFor(Math.ceil((1.5 * LT * 1000) / 5.25) + 200);
      const t = sw();
      const refreshedSessions = nf.node.sessionCount;
      // Breakdown at the NF: the heap given back when the lab lets go of its NATFW node (NSLP), then of
      // its pinhole set (pinholes); what they share with GIST stays with GIST, which is the rest.
      await lab.runFor(1000);
      gc();
      const b0 = heapBytes();
      const atBreakdown = nf.node.sessionCount;
      lab.releaseNatfw('nf1');
      gc();
      const b1 = heapBytes();
      lab.releasePinholes('nf1');
      gc();
      const b2 = heapBytes();
      const nslp = (b0 - b1) / atBreakdown;
      const pinhole = (b1 - b2) / atBreakdown;
      const nslpAlone = await nfNslpBytes(N, gc);
      emit({
        bench: 'natfw.session.bytes',
        value: round(total),
        unit: 'bytes/session',
        nslpBytes: round(nslp),
        pinholeBytes: round(pinhole),
        gistBytes: round(total - nslp - pinhole),
        nslpAloneBytes: round(nslpAlone),
        sessions,
        established: s.ok,
        gistRoutingStates,
        pinholes,
        method: 'heap(NI-NF-NR) - heap(NI-NR), same sessions, heap = heapUsed + arrayBuffers; nslp/pinhole: heap freed by releasing the NF\'s NATFW node / pinhole set; nslpAlone: the NF NATFW node on a stub GIST, nothing shared',
      });
      const nslpOnly = await nfOnlyRefreshRate(N);
      emit({
        bench: 'natfw.refresh.inproc',
        value: round(refreshes / t.cpu),
        unit: 'refreshes/s',
        perCpuSecond: round(refreshes / t.cpu),
        perWallSecond: round(refreshes / t.wall),
        cpuMs: round(t.cpu * 1000, 0),
        wallMs: round(t.wall * 1000, 0),
        sessions: refreshedSessions,
        refreshes,
        scope: 'NI-NF-NR in process, GIST included',
        nfNslpOnlyPerCpuSecond: round(nslpOnly.perCpuSecond),
        nfNslpOnlyPerWallSecond: round(nslpOnly.perWallSecond),
      });
    },
  },
];

/** A memory-backend-like stub the NSLP-only figures run against: ids handed out, nothing stored. */
function nullPinholeSet(ids: readonly string[]): PinholeSet {
  let next = 0;
  const tx: Transaction = {
    add: () => ids[next++ % ids.length],
    remove: () => undefined,
    refresh: () => undefined,
    addBinding: () => ids[next++ % ids.length],
    removeBinding: () => undefined,
    refreshBinding: () => undefined,
    commit: async () => undefined,
    abort: () => undefined,
  };
  return { backend: 'null', begin: () => tx, list: () => [], listBindings: () => [], lookup: () => ({ verdict: 'none', matches: [] }), expire: async () => ({ pinholes: [], bindings: [] }) };
}

/** A copy of an address string as a decoder makes it (a fresh string, not the interned literal). */
function freshText(s: string): string {
  return s.split('').join('');
}

/**
 * One NF's NATFW node on a stub GistService, fed what GIST delivers: for
 * each session a CREATE from upstream (fresh MRI and Session ID objects, as
 * a decoder makes them) and the successful RESPONSE from downstream, with
 * the enforcement jobs run in between.
 */
class StubNf {
  readonly events = new EventEmitter<GistServiceEvents>();
  readonly node: NatfwNode;
  private readonly sid = new Uint8Array(16);
  private readonly prebuilt: { down: PathCoupledMri; up: PathCoupledMri; sid: Uint8Array }[] = [];

  /** `prebuiltFor` > 0: MRI and Session ID objects made once per session beforehand (GIST's decoding is not the NSLP's cost). */
  constructor(
    private readonly set: PinholeSet,
    prebuiltFor = 0,
  ) {
    for (let i = 0; i < prebuiltFor; i++) this.prebuilt.push({ down: this.mri(i, 'downstream'), up: this.mri(i, 'upstream'), sid: this.sessionId(i) });
    const gist: GistService = { events: this.events, sendMessage: () => undefined, setStateLifetime: () => undefined, invalidateRoutingState: () => undefined, registerNslp: () => undefined };
    this.node = new NatfwNode(gist, { addresses: ['198.18.1.1'], middlebox: { kind: 'firewall' }, random: seededRandom(1), codec: wireCodec });
  }

  static messages(msn: number): { create: Uint8Array; resp: Uint8Array } {
    return {
      create: wireCodec.encode({ type: 'CREATE', proxy: false, edgeContinue: false, lifetime: 600, msn, efi: { ruleAction: 1, subPorts: 0 } }),
      resp: wireCodec.encode({ type: 'RESPONSE', info: { responseClass: 2, responseCode: 1, objectType: 0 }, msn, lifetime: 600 }),
    };
  }

  private mri(i: number, direction: 'downstream' | 'upstream'): PathCoupledMri {
    return { ...flowMri(freshText('198.18.0.1'), freshText('198.18.3.1'), { sourcePort: 1024 + (i % 60000), destinationPort: 2000 + Math.floor(i / 60000) }), direction };
  }

  private sessionId(i: number): Uint8Array {
    new DataView(this.sid.buffer).setUint32(0, i + 1);
    return this.sid.slice();
  }

  /** CREATE in, CREATE forwarded, RESPONSE in, enforcement committed, RESPONSE forwarded: one session set up or refreshed. */
  async session(now: number, i: number, m: { create: Uint8Array; resp: Uint8Array }): Promise<void> {
    const pre = this.prebuilt[i];
    const ev: RecvMessageEvent = {
      now,
      nslpData: m.create,
      nslpId: 33,
      sessionId: pre?.sid ?? this.sessionId(i),
      mri: pre?.down ?? this.mri(i, 'downstream'),
      routingStateCheck: now === 0,
      siiHandle: 1,
      transfer: { reliable: false },
      ipDistance: 1,
      gistHopCount: 5,
    };
    this.events.emit('recvMessage', ev);
    this.events.emit('recvMessage', {
      now,
      nslpData: m.resp,
      nslpId: 33,
      sessionId: pre?.sid ?? this.sessionId(i),
      mri: pre?.up ?? this.mri(i, 'upstream'),
      routingStateCheck: false,
      siiHandle: 2,
      transfer: { reliable: false },
      ipDistance: 1,
      gistHopCount: 5,
    });
    for (let job = this.node.pollEnforcement(); job !== undefined; job = this.node.pollEnforcement()) this.node.enforcementDone(now, job.jobId, await runEnforcementJob(this.set, job, now));
  }
}

/** Heap bytes per session of one NF's NATFW node alone (pinhole ids and GIST excluded), at `n` sessions. */
async function nfNslpBytes(n: number, gc: () => void): Promise<number> {
  const ids = Array.from({ length: n }, (_, i) => `ph-${(i + 1).toString(16)}`);
  const m = StubNf.messages(1);
  gc();
  const h0 = heapBytes();
  const nf = new StubNf(nullPinholeSet(ids));
  for (let i = 0; i < n; i++) await nf.session(0, i, m);
  gc();
  const bytes = (heapBytes() - h0) / n;
  if (nf.node.sessionCount !== n) throw new Error(`NSLP-only: ${nf.node.sessionCount} sessions, expected ${n}`);
  return bytes;
}

/**
 * The NF's own refresh cost without GIST: a NatfwNode on a stub GistService
 * holding `n` sessions; each refresh = CREATE in, CREATE forwarded, RESPONSE in,
 * enforcement refresh committed on the memory backend, RESPONSE forwarded.
 */
async function nfOnlyRefreshRate(n: number): Promise<{ perCpuSecond: number; perWallSecond: number }> {
  const nf = new StubNf(new MemoryPinholeSet(), n);
  for (let i = 0; i < n; i++) await nf.session(0, i, StubNf.messages(1));
  const m2 = StubNf.messages(2);
  const sw = stopwatch();
  for (let i = 0; i < n; i++) await nf.session(1000, i, m2);
  const t = sw();
  return { perCpuSecond: n / t.cpu, perWallSecond: n / t.wall };
}

export const internals = { nfNslpBytes, nfOnlyRefreshRate, gcFn, StubNf, nullPinholeSet };
