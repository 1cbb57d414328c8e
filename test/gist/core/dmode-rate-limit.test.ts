/**
 * RFC 5971 s5.3.3 D-mode rate limiter in the core, over the virtual network:
 * locally generated D-mode datagrams wait for tokens in FIFO order, the queue
 * drains from handleTimeout at the bucket's refill times, overflow is reported
 * to the NSLP, and forwarded Queries are never limited.
 */
import type { GistNodeConfig } from '../../../gist/core';
import type { TraceEntry } from '../../../sim/vnet';
import { bytes, flow, gistType, line3, NSLP, sid, text } from './helpers';

/** A - R - B with 1 s links (a Response cannot come back before 4 s) and per-node configuration. */
function line(cfg: { a?: Partial<GistNodeConfig>; r?: Partial<GistNodeConfig>; b?: Partial<GistNodeConfig> }, rNslps: number[] = []) {
  // T1 = 10 s, beyond the 4 s round trip plus the queueing: no Query is retransmitted, so the
  // NSLP data each carries arrives once.
  return line3({ seed: 3, delayMs: 1000, cfg: { t1Ms: 10_000 }, nodes: cfg, rNslps });
}

type Sent = Extract<TraceEntry, { kind: 'send' }>;
const sends = (trace: readonly TraceEntry[], host: string, type?: string): Sent[] =>
  trace.filter((e): e is Sent => e.kind === 'send' && e.host === host && (type === undefined || gistType(e.dg.payload) === type));

/** What the limiter counts: UDP payload + IPv4 and UDP headers. */
const wire = (e: Sent): number => e.dg.payload.length + 28;

/** The release schedule of a token bucket (rate in bytes per ms, starts full) for messages all offered at time 0. */
function schedule(sizes: readonly number[], perMs: number, burst: number): number[] {
  let tokens = burst;
  let last = 0;
  return sizes.map((size) => {
    if (tokens < size) {
      const at = Math.ceil(last + (size - tokens) / perMs);
      tokens = Math.min(burst, tokens + (at - last) * perMs);
      last = at;
    }
    tokens -= size;
    return last;
  });
}

const payload = (i: number): Uint8Array => bytes(`msg-${String(i).padStart(3, '0')}`);

function startSessions(t: ReturnType<typeof line>, n: number, firstHandle = 1): Uint8Array[] {
  const sids: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const s = sid(t.rnd);
    sids.push(s);
    t.a.node.sendMessage(t.net.now, { nslpId: NSLP, sessionId: s, mri: flow('198.18.1.1', '198.18.2.2', { sourcePort: 1000 + i }), nslpData: payload(i), nslpMessageHandle: firstHandle + i });
  }
  t.net.pump('A');
  return sids;
}

describe('D-mode rate limiter (RFC 5971 s5.3.3)', () => {
  const LIMIT = { bytesPerSecond: 2000, burstBytes: 500, maxQueued: 100 }; // 2 bytes per ms

  it('spreads a burst of Queries over the exact token bucket schedule, in order, and loses none', () => {
    const t = line({ a: { dmodeRateLimit: LIMIT } });
    startSessions(t, 20);
    const first = sends(t.net.trace, 'A', 'Query');
    const perQuery = wire(first[0]);
    expect(first.length).toBeGreaterThan(0);
    expect(first.length).toBeLessThan(10);
    // What went at once is what the bucket held; the next release time is the driver's deadline.
    const expected = schedule(new Array<number>(20).fill(perQuery), 2, 500);
    expect(first.map((e) => e.t)).toEqual(expected.filter((x) => x === 0));
    expect(t.a.node.nextDeadline()).toBe(expected.find((x) => x > 0));
    expect(t.a.node.footprint().rateLimited).toBe(20 - first.length);

    t.net.runFor(3999); // before any Response comes back: only the 20 initial Queries
    const queries = sends(t.net.trace, 'A', 'Query');
    expect(queries.map(wire)).toEqual(new Array<number>(20).fill(perQuery));
    expect(queries.map((e) => e.t)).toEqual(expected);
    // Never more than the bucket allows: bytes sent by t <= burst + rate * t.
    let total = 0;
    for (const q of queries) {
      total += wire(q);
      expect(total).toBeLessThanOrEqual(500 + 2 * q.t);
    }
    // FIFO: the sessions' Queries (each carrying its first message) leave in the order they were asked for.
    expect(queries.map((e) => Buffer.from(e.dg.payload).includes(Buffer.from(`msg-${String(queries.indexOf(e)).padStart(3, '0')}`)))).toEqual(new Array<boolean>(20).fill(true));

    t.net.runFor(20_000);
    // (Routing state refreshes, from 15 s on, deliver Queries without NSLP data.)
    expect(t.b.recv.filter((ev) => ev.nslpData.length > 0).map((ev) => text(ev.nslpData))).toEqual(Array.from({ length: 20 }, (_, i) => `msg-${String(i).padStart(3, '0')}`));
    expect(t.a.status.filter((s) => s.error !== undefined)).toEqual([]);
    expect(t.a.node.stats.handshakesCompleted).toBe(20);
    expect(t.a.node.stats.rateLimited).toBeGreaterThanOrEqual(20 - first.length);
    expect(t.a.node.stats.rateLimitDropped).toBe(0);
    expect(t.a.node.footprint().rateLimited).toBe(0);
    // Every datagram A ever sent (Queries, Confirms, refreshes) kept within the bucket.
    total = 0;
    for (const e of sends(t.net.trace, 'A')) {
      total += wire(e);
      expect(total).toBeLessThanOrEqual(500 + 2 * e.t);
    }
  });

  it('beyond the queue bound drops the newest datagrams and reports their messages to the NSLP', () => {
    const t = line({ a: { dmodeRateLimit: { bytesPerSecond: 2000, burstBytes: 300, maxQueued: 5 } } });
    startSessions(t, 10, 100);
    const now = sends(t.net.trace, 'A', 'Query');
    expect(now).toHaveLength(Math.floor(300 / wire(now[0])));
    const queued = 5;
    const dropped = 10 - now.length - queued;
    expect(t.a.node.stats.rateLimitDropped).toBe(dropped);
    expect(t.a.status).toEqual(
      Array.from({ length: dropped }, (_, i) =>
        expect.objectContaining({ nslpMessageHandle: 100 + now.length + queued + i, error: 'transport-failure', detail: expect.stringContaining('rate limiter') }),
      ),
    );
    // The others arrive in order; the dropped sessions' handshakes go on by retransmission (as after a loss), without the message.
    t.net.runFor(60_000);
    expect(t.b.recv.filter((ev) => ev.nslpData.length > 0).map((ev) => text(ev.nslpData))).toEqual(
      Array.from({ length: now.length + queued }, (_, i) => `msg-${String(i).padStart(3, '0')}`),
    );
    expect(t.a.status.filter((s) => s.error === undefined).map((s) => s.nslpMessageHandle)).toEqual(Array.from({ length: now.length + queued }, (_, i) => 100 + i));
    expect(t.a.node.routingStateCount).toBe(10);
    expect(t.a.node.footprint().rateLimited).toBe(0);
  });

  it('does not add a retransmission of a Query whose last copy still waits for tokens (s5.3.3 may prioritise new messages)', () => {
    // T1 = 200 ms, far shorter than the ~1.3 s the last Queries wait: without the rule every waiting
    // Query would be queued again at 200, 600, 1400 ms, ...
    const t = line({ a: { dmodeRateLimit: LIMIT, t1Ms: 200 } });
    startSessions(t, 20);
    // At most one Query per session ever waits: the queue never grows beyond the 20 sessions.
    let longest = 0;
    for (let ms = 0; ms < 4000; ms += 10) {
      t.net.runFor(10);
      longest = Math.max(longest, t.a.node.footprint().rateLimited);
    }
    expect(longest).toBeLessThanOrEqual(20);
    // The first 20 Queries sent are the 20 sessions' first, in order, on the bucket's schedule:
    // no retransmission got in between while sessions were still waiting.
    const queries = sends(t.net.trace, 'A', 'Query');
    const firstCopies = queries.slice(0, 20);
    expect(firstCopies.map((e) => Buffer.from(e.dg.payload).includes(Buffer.from(`msg-${String(firstCopies.indexOf(e)).padStart(3, '0')}`)))).toEqual(new Array<boolean>(20).fill(true));
    t.net.runFor(20_000);
    expect(t.a.node.stats.handshakesCompleted).toBe(20);
    expect(t.a.node.stats.rateLimitDropped).toBe(0);
  });

  it('does not delay Queries that a router forwards, however small its own limit', () => {
    const t = line({ a: { dmodeRateLimit: false }, r: { dmodeRateLimit: { bytesPerSecond: 1, burstBytes: 1, maxQueued: 1 } } });
    startSessions(t, 20);
    t.net.runFor(1500);
    const fwd = t.net.trace.filter((e) => e.kind === 'forward' && e.host === 'R' && gistType(e.dg.payload) === 'Query');
    expect(fwd.map((e) => e.t)).toEqual(new Array<number>(20).fill(1000));
    expect(t.r.node.stats.queriesForwarded).toBe(20);
    expect(t.r.node.stats.rateLimited).toBe(0);
    expect(t.r.node.stats.rateLimitDropped).toBe(0);
    t.net.runFor(20_000);
    expect(t.a.node.stats.handshakesCompleted).toBe(20);
  });

  it('false disables the limiter: every Query goes at once', () => {
    const t = line({ a: { dmodeRateLimit: false } });
    startSessions(t, 200);
    expect(sends(t.net.trace, 'A', 'Query').map((e) => e.t)).toEqual(new Array<number>(200).fill(0));
    expect(t.a.node.stats.rateLimited).toBe(0);
  });

  it('the default (6.25 MB/s, 1 MB burst) lets a burst of thousands of Queries go at once', () => {
    const t = line({ a: { maxHandshakesInProgress: 5000 } });
    startSessions(t, 3000);
    expect(sends(t.net.trace, 'A', 'Query')).toHaveLength(3000);
    expect(t.a.node.stats.rateLimited).toBe(0);
    expect(t.a.node.config.dmodeRateLimit).toEqual({ bytesPerSecond: 6_250_000, burstBytes: 1_000_000, maxQueued: 16_384 });
  });

  it('rejects a limit that is not positive', () => {
    expect(() => line({ a: { dmodeRateLimit: { bytesPerSecond: 0, burstBytes: 100 } } })).toThrow(/dmodeRateLimit/);
  });
});
