/**
 * GIST over real sockets (gist/driver/).
 *
 * gist.handshake.loopback   completed Query/Response/Confirm handshakes per second, two nodes in
 *                           this process on loopback addresses (a burst of new sessions)
 * gist.data.dmode.loopback  Data messages per second over one established D-mode association
 * gist.data.cmode.loopback  Data messages per second over one established C-mode (TCP) MA
 *                           (anchor: NSIS-ka carried 83 msgs/s over one TCP association)
 * gist.handshake.netns.1k   two nodes, each its own process in its own namespace, joined by a veth
 *                           pair; Q-mode with the Router Alert Option, Confirm required; handshakes
 *                           per second for a burst of 1,000 new sessions on fresh nodes
 *                           (anchor: NSIS-ka 1,830/s)
 * gist.handshake.netns.10k  then 10,000 more sessions on top of those (anchor: NSIS-ka ~21/s)
 * A handshake counts as completed when the querier has its Response (MessageStatus success for the
 * session's payload, once per session) and the responder holds the routing state, i.e. accepted the
 * Confirm (Confirm required, s6.3 case 3); the clock stops when the last one has. The whole burst is
 * offered at once (32 new sessions per event-loop turn); the core's s5.3.3 rate control
 * (maxHandshakesInProgress, default 1,024) paces the Queries. Each node process runs the start-up rehearsal of
 * gist/driver/warmup.ts before its node exists (as every driver start does, natfwd's included): no
 * traffic, no state; its cost is reported as querierStartMs/responderStartMs. The netns figures
 * need root. They are the median of NATFW_BENCH_ROUNDS (default 5) rounds, each on fresh node
 * processes; every round's value goes along in `roundValues`. The node processes are started with node's default options; NATFW_BENCH_NODE_OPTIONS
 * (space-separated, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p") adds options to both, for profiling.
 */
import { join } from 'node:path';
import type { BenchGroup, BenchLine } from './harness';
import { round } from './harness';
import { createGistNode, type GistNode } from '../gist/core';
import { flowMri, handshakeBurst } from '../gist/driver/load';
import { NodeProcess } from '../gist/driver/node-process';
import { pooledRandomBytes } from '../gist/driver/random';
import { RealGistDriver } from '../gist/driver/real-driver';
import { NetnsLab, netnsUnavailableReason } from '../testbed/netns';

const NSLP = 33;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface LocalNode {
  node: GistNode;
  driver: RealGistDriver;
  recv: number;
}

async function localNode(address: string): Promise<LocalNode> {
  // The driver's capacity, not a sending policy: without the s5.3.3 D-mode rate limiter.
  const node = createGistNode({ addresses: [address], udpPort: 42270, qmodePort: 42270, tcpPort: 42271, randomBytes: pooledRandomBytes, dmodeRateLimit: false });
  node.registerNslp(NSLP);
  const n: LocalNode = { node, driver: undefined as unknown as RealGistDriver, recv: 0 };
  node.events.on('recvMessage', (ev) => {
    if (!ev.routingStateCheck) n.recv++;
  });
  n.driver = await RealGistDriver.start(node, { bindAddresses: [address] });
  return n;
}

function cpuMsSince(c: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(c);
  return (d.user + d.system) / 1000;
}

async function waitFor(pred: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = performance.now() + timeoutMs;
  while (!pred()) {
    if (performance.now() > end) return false;
    await sleep(1);
  }
  return true;
}

async function loopback(emit: (l: BenchLine) => void): Promise<void> {
  const base = `127.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
  const a = await localNode(`${base}.1`);
  const b = await localNode(`${base}.2`);
  try {
    // Handshakes: a warm-up burst, then the measured one.
    await handshakeBurst(a.node, a.driver, { count: 200, nslpId: NSLP, src: `${base}.1`, dst: `${base}.2` });
    const sessions = 2000;
    const rs0 = b.node.routingStateCount;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const h = await handshakeBurst(a.node, a.driver, { count: sessions, nslpId: NSLP, src: `${base}.1`, dst: `${base}.2`, timeoutMs: 60_000 });
    // Complete = the responder accepted the Confirm and holds the routing state (s6.3 case 3).
    await waitFor(() => b.node.routingStateCount - rs0 >= sessions, 5000);
    const ms = performance.now() - t0;
    const completed = Math.min(h.completed, b.node.routingStateCount - rs0);
    emit({
      bench: 'gist.handshake.loopback',
      value: round((completed * 1000) / ms),
      unit: 'handshakes/s',
      sessions,
      completed,
      failed: h.failed,
      ms: round(ms),
      queriesSent: a.node.stats.queriesSent,
      responderConfirms: b.node.stats.confirmsAccepted,
      cpuMs: round(cpuMsSince(cpu0)), // both nodes share this process
    });

    for (const reliable of [false, true]) {
      const sid = new Uint8Array(16).fill(reliable ? 2 : 1);
      const mri = flowMri(`${base}.1`, `${base}.2`, reliable ? 7002 : 7001, 9000);
      a.driver.run((now) => a.node.sendMessage(now, { nslpId: NSLP, sessionId: sid, mri, nslpData: new Uint8Array(4), transfer: { reliable } }));
      await waitFor(() => a.node.routingState(NSLP, mri, sid)?.phase === 'established' && (!reliable || a.node.routingState(NSLP, mri, sid)?.cmode === true), 10_000);
      const before = b.recv;
      await waitFor(() => b.recv > before || !reliable, 2000);
      const warm = b.recv;
      const count = 20_000;
      // Closed loop: at most `window` messages not yet delivered (one process hosts both nodes, so an
      // open-loop flood would only measure the receiver's socket buffer). A D-mode datagram that has not
      // arrived 100 ms after the last progress is counted lost and stops holding the window.
      const window = reliable ? 4000 : 500;
      let sent = 0;
      let lost = 0;
      let lastRecv = warm;
      let lastProgress = performance.now();
      const data = new Uint8Array(64);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      while (sent < count && performance.now() - t0 < 30_000) {
        const now = performance.now();
        if (b.recv !== lastRecv) {
          lastRecv = b.recv;
          lastProgress = now;
        } else if (!reliable && now - lastProgress > 100) {
          lost = sent - (b.recv - warm);
          lastProgress = now;
        }
        const k = Math.min(reliable ? 200 : 32, count - sent, window - (sent - (b.recv - warm) - lost));
        if (k > 0) {
          a.driver.run((t) => {
            for (let i = 0; i < k; i++) a.node.sendMessage(t, { nslpId: NSLP, sessionId: sid, mri, nslpData: data, transfer: { reliable } });
          });
          sent += k;
        }
        await new Promise((r) => setImmediate(r));
      }
      await waitFor(() => b.recv - warm >= sent, reliable ? 30_000 : 500);
      const received = b.recv - warm;
      const ms = performance.now() - t0;
      emit({
        bench: reliable ? 'gist.data.cmode.loopback' : 'gist.data.dmode.loopback',
        value: round((received * 1000) / ms),
        unit: 'msgs/s',
        sent,
        received,
        ms: round(ms),
        payloadBytes: 64,
        window,
        cpuMs: round(cpuMsSince(cpu0)),
      });
    }
  } finally {
    await a.driver.close();
    await b.driver.close();
  }
}

async function netns(emit: (l: BenchLine) => void): Promise<void> {
  const reason = netnsUnavailableReason();
  if (reason !== undefined) {
    process.stderr.write(`skip gist.handshake.netns.1k, gist.handshake.netns.10k: ${reason}\n`);
    return;
  }
  const script = join(__dirname, '..', 'gist', 'driver', 'cli-node.js');
  const lab = new NetnsLab('gdb');
  const kids: NodeProcess[] = [];
  const Q = '198.18.10.1';
  const S = '198.18.10.2';
  // Fresh node processes per round (the 1k figure is about fresh nodes), several rounds, the median
  // round reported with all rounds beside it: one round on a 2-core host swings with whatever else runs.
  const rounds = Math.max(1, Number(process.env.NATFW_BENCH_ROUNDS ?? 5) || 5);
  const results = new Map<string, BenchLine[]>();
  try {
    lab.addNode({ name: 'Q' });
    lab.addNode({ name: 'S' });
    lab.addLink({ a: 'Q', b: 'S', aAddrs: [`${Q}/24`], bAddrs: [`${S}/24`] });
    const nodeOptions = (process.env.NATFW_BENCH_NODE_OPTIONS ?? '').split(' ').filter((o) => o !== '');
    for (let round_ = 0; round_ < rounds; round_++) {
      const startMs: Record<string, number> = {};
      const start = async (name: string, address: string): Promise<NodeProcess> => {
        const c = new NodeProcess(lab.ns(name), script, [], [], nodeOptions);
        kids.push(c);
        await c.waitFor((e) => e.ev === 'ready', 30_000, `${name} ready`);
        // Defaults: UDP/Q-mode port 270, Confirm required (s6.3 case 3), RAO 65 for NSLPID 33; no D-mode
        // rate limiter (s5.3.3: the figure is the nodes' capacity, not a sending policy).
        const t0 = performance.now();
        await c.call({ op: 'start', node: { addresses: [address], dmodeRateLimit: false }, driver: { bindAddresses: [address] }, nslps: [NSLP], quiet: true }, 20_000);
        startMs[name] = round(performance.now() - t0);
        return c;
      };
      const s = await start('S', S);
      const q = await start('Q', Q);
      for (const [name, count, timeoutMs] of [
        ['gist.handshake.netns.1k', 1000, 60_000],
        ['gist.handshake.netns.10k', 10_000, 180_000],
      ] as const) {
        const s0 = await s.call({ op: 'stats' });
        const q0 = await q.call({ op: 'stats' });
        const before = Number(s0.routingStates);
        const t0 = performance.now();
        // Complete = the responder accepted the Confirm and holds the routing state (s6.3 case 3): it
        // answers as soon as a drain leaves it with `count` more states (no polling on either side).
        const responderDone = s.call({ op: 'await-states', count: before + count, timeoutMs }, timeoutMs + 10_000);
        const r = await q.call({ op: 'handshake-burst', count, nslpId: NSLP, src: Q, dst: S, timeoutMs }, timeoutMs + 10_000);
        await responderDone;
        const ms = performance.now() - t0;
        const ss = await s.call({ op: 'stats' });
        const qs = await q.call({ op: 'stats' });
        const completed = Math.min(Number(r.completed), Number(ss.routingStates) - before);
        const line: BenchLine = {
          bench: name,
          value: round((completed * 1000) / ms),
          unit: 'handshakes/s',
          sessions: count,
          completed,
          failed: Number(r.failed),
          ms: round(ms),
          querierMs: round(Number(r.ms)),
          querierRoutingStates: Number(qs.routingStates),
          responderRoutingStates: Number(ss.routingStates),
          responderConfirms: Number((ss.node as Record<string, number>).confirmsAccepted),
          queriesSent: Number((qs.node as Record<string, number>).queriesSent),
          // CPU time each process used meanwhile: on a loaded host the wall-clock rate says little alone.
          querierCpuMs: round(Number(qs.cpuMs) - Number(q0.cpuMs)),
          responderCpuMs: round(Number(ss.cpuMs) - Number(s0.cpuMs)),
          querierSysMs: round(Number(qs.cpuSystemMs) - Number(q0.cpuSystemMs)),
          responderSysMs: round(Number(ss.cpuSystemMs) - Number(s0.cpuSystemMs)),
          // How long each node's `start` took (sockets, and the start-up warm-up of gist/driver/warmup.ts).
          querierStartMs: startMs.Q,
          responderStartMs: startMs.S,
        };
        results.set(name, [...(results.get(name) ?? []), line]);
      }
      await Promise.all(kids.splice(0).map((k) => k.stop()));
    }
    for (const [name, lines] of results) {
      const sorted = [...lines].sort((x, y) => x.value - y.value);
      const median = sorted[Math.floor((sorted.length - 1) / 2)];
      emit({ ...median, bench: name, rounds: lines.length, roundValues: lines.map((l) => l.value).join(' '), stat: 'median round, fresh node processes per round' });
    }
  } finally {
    await Promise.all(kids.map((k) => k.stop()));
    lab.destroy();
  }
}

export const benches: BenchGroup[] = [
  { names: ['gist.handshake.loopback', 'gist.data.dmode.loopback', 'gist.data.cmode.loopback'], run: loopback },
  { names: ['gist.handshake.netns.1k', 'gist.handshake.netns.10k'], run: netns },
];
