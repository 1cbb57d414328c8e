/**
 * A GIST node as its own process, driven by JSON lines on stdin and reporting
 * on stdout: how tests and benchmarks run nodes inside network namespaces
 * (`ip netns exec <ns> node dist/gist/driver/cli-node.js`). It is a test
 * fixture and a manual tool, not the daemon: its "NSLP" accepts or declines
 * peering as told and reports what arrives.
 *
 * Commands ({op, id?, ...}; every command is answered {ev:'done'|'error', id}):
 *   start  {node: GistNodeConfig (JSON-able part), driver: RealGistDriverOptions (JSON-able part),
 *           nslps: number[], peering?: 'accept'|'decline', quiet?: boolean, routerAlert?: number}
 *                                        -> {ports, warmUp}: warmUp is the start-up rehearsal's report
 *                                           (gist/driver/warmup.ts; driver.warmUp: 0 skips it)
 *   send   {nslpId, sid (hex), mri, data (hex), reliable?, handle?}
 *   state  {nslpId, sid, mri}            -> {state}
 *   stats                                -> {node, driver, interceptor, routingStates, mas, recvCount, cpuMs,
 *                                            cpuUserMs, cpuSystemMs}
 *   handshake-burst {count, nslpId, src, dst, chunk?, timeoutMs?}
 *                                        -> {completed, ms}: new sessions, one Query each; done when the
 *                                           core counts `count` more completed handshakes (or at timeout)
 *   data-burst {count, nslpId, sid, mri, reliable, size}   sends `count` Data messages on existing state
 *   await-recv {count, timeoutMs?}       -> {recvCount, ms}: resolves when non-Query messages received reach count
 *   await-states {count, timeoutMs?}     -> {routingStates, ms}: resolves as soon as the node holds `count`
 *                                           routing states (checked after every drain, no polling)
 *   exit
 * Events (unless quiet): {ev:'recv'|'status'|'note', ...}.
 */
import { createInterface } from 'node:readline';
import type { RecvMessageEvent } from '../api';
import { createGistNode, type GistNode, type GistNodeConfig } from '../core';
import type { Mri } from '../types';
import { dataBurst, handshakeBurst } from './load';
import { pooledRandomBytes } from './random';
import { RealGistDriver, type RealGistDriverOptions } from './real-driver';

type Json = Record<string, unknown>;

const out = (e: Json): void => void process.stdout.write(JSON.stringify(e) + '\n');
const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const unhex = (s: unknown): Uint8Array => new Uint8Array(Buffer.from(typeof s === 'string' ? s : '', 'hex'));

let node: GistNode | undefined;
let driver: RealGistDriver | undefined;
let recvCount = 0;
const recvWaiters: { count: number; resolve: () => void }[] = [];

function need(): { node: GistNode; driver: RealGistDriver } {
  if (node === undefined || driver === undefined) throw new Error('not started');
  return { node, driver };
}

async function handle(c: Json): Promise<Json | undefined> {
  switch (c.op) {
    case 'start': {
      const cfg = c.node as GistNodeConfig;
      // JSON cannot carry a function: `routerAlert: <n>` sends every Query with RAO value n
      // (0 for networks whose routers intercept with the IP_ROUTER_ALERT socket fallback).
      const rao = typeof c.routerAlert === 'number' ? c.routerAlert : undefined;
      const driverOpts = (c.driver as RealGistDriverOptions | undefined) ?? {};
      // The start-up rehearsal (warmup.ts) before the node exists, as natfwd should do it too.
      const warm = await RealGistDriver.warmUp({
        handshakes: driverOpts.warmUp,
        ipVersions: (driverOpts.bindAddresses ?? cfg.addresses).map((a) => (a.includes(':') ? 6 : 4)),
      });
      node = createGistNode({ ...cfg, randomBytes: pooledRandomBytes, ...(rao === undefined ? {} : { routerAlertFor: () => rao }) });
      const n = node;
      for (const id of (c.nslps as number[] | undefined) ?? []) n.registerNslp(id);
      const quiet = c.quiet === true;
      const decline = c.peering === 'decline';
      n.events.on('recvMessage', (ev: RecvMessageEvent) => {
        if (ev.routingStateCheck) {
          if (decline) ev.peering = { accept: false };
        } else {
          recvCount++;
          for (const w of [...recvWaiters]) if (recvCount >= w.count) w.resolve();
        }
        if (!quiet)
          out({
            ev: 'recv',
            nslpId: ev.nslpId,
            sid: hex(ev.sessionId),
            mri: ev.mri,
            data: hex(ev.nslpData),
            routingStateCheck: ev.routingStateCheck,
            reliable: ev.transfer.reliable,
            gistHopCount: ev.gistHopCount,
          });
      });
      n.events.on('messageStatus', (ev) => {
        if (!quiet) out({ ev: 'status', handle: ev.nslpMessageHandle, error: ev.error ?? null, reliable: ev.transfer.reliable });
      });
      n.events.on('networkNotification', (ev) => {
        if (!quiet) out({ ev: 'note', nslpId: ev.nslpId, kind: ev.notification.kind, sid: ev.sessionId === undefined ? null : hex(ev.sessionId) });
      });
      driver = await RealGistDriver.start(n, {
        ...driverOpts,
        onError: (e) => {
          if (!quiet) out({ ev: 'driver-error', message: e.message });
        },
      });
      return { ports: driver.ports, warmUp: warm ?? null };
    }
    case 'send': {
      const { node: n, driver: d } = need();
      d.run((now) =>
        n.sendMessage(now, {
          nslpId: Number(c.nslpId),
          sessionId: unhex(c.sid),
          mri: c.mri as Mri,
          nslpData: unhex(c.data),
          nslpMessageHandle: c.handle === undefined ? undefined : Number(c.handle),
          transfer: { reliable: c.reliable === true },
        }),
      );
      return {};
    }
    case 'state': {
      const { node: n } = need();
      return { state: n.routingState(Number(c.nslpId), c.mri as Mri, unhex(c.sid)) ?? null };
    }
    case 'stats': {
      const { node: n, driver: d } = need();
      const cpu = process.cpuUsage();
      return {
        node: n.stats,
        driver: { ...d.stats, optionCalls: d.optionCalls },
        interceptor: d.interceptorStats ?? null,
        routingStates: n.routingStateCount,
        mas: n.maCount,
        recvCount,
        cpuMs: (cpu.user + cpu.system) / 1000,
        cpuUserMs: cpu.user / 1000,
        cpuSystemMs: cpu.system / 1000,
      };
    }
    case 'handshake-burst': {
      const { node: n, driver: d } = need();
      const r = await handshakeBurst(n, d, {
        count: Number(c.count),
        nslpId: Number(c.nslpId),
        src: String(c.src),
        dst: String(c.dst),
        chunk: c.chunk === undefined ? undefined : Number(c.chunk),
        timeoutMs: c.timeoutMs === undefined ? undefined : Number(c.timeoutMs),
        window: c.window === undefined ? undefined : Number(c.window),
      });
      return { ...r };
    }
    case 'data-burst': {
      const { node: n, driver: d } = need();
      const t0 = performance.now();
      await dataBurst(n, d, {
        count: Number(c.count),
        nslpId: Number(c.nslpId),
        sessionId: unhex(c.sid),
        mri: c.mri as Mri,
        reliable: c.reliable === true,
        size: c.size === undefined ? undefined : Number(c.size),
      });
      return { ms: performance.now() - t0 };
    }
    case 'await-recv': {
      const count = Number(c.count);
      const timeoutMs = Number(c.timeoutMs ?? 30_000);
      const t0 = performance.now();
      if (recvCount < count)
        await new Promise<void>((resolve) => {
          const w = { count, resolve: () => (clearTimeout(t), (recvWaiters.splice(recvWaiters.indexOf(w), 1), resolve())) };
          const t = setTimeout(() => {
            recvWaiters.splice(recvWaiters.indexOf(w), 1);
            resolve();
          }, timeoutMs);
          recvWaiters.push(w);
        });
      return { recvCount, ms: performance.now() - t0 };
    }
    case 'await-states': {
      const { node: n, driver: d } = need();
      const count = Number(c.count);
      const timeoutMs = Number(c.timeoutMs ?? 30_000);
      const t0 = performance.now();
      if (n.routingStateCount < count)
        await new Promise<void>((resolve) => {
          const finish = (): void => {
            clearTimeout(t);
            d.onDrained = undefined;
            resolve();
          };
          const t = setTimeout(finish, timeoutMs);
          d.onDrained = () => {
            if (n.routingStateCount >= count) finish();
          };
        });
      return { routingStates: n.routingStateCount, ms: performance.now() - t0 };
    }
    case 'exit':
      await driver?.close();
      // The nfqueue addon cannot be closed; leave without waiting for it.
      process.exit(0);
  }
  throw new Error(`unknown op ${String(c.op)}`);
}

function main(): void {
  createInterface({ input: process.stdin }).on('line', (line) => {
    let c: Json;
    try {
      c = JSON.parse(line) as Json;
    } catch {
      out({ ev: 'error', message: 'not JSON' });
      return;
    }
    handle(c).then(
      (r) => out({ ev: 'done', id: c.id ?? null, ...(r ?? {}) }),
      (e: Error) => out({ ev: 'error', id: c.id ?? null, message: e.message }),
    );
  });
  // The controlling process went away: leave (closing sockets and removing the firewall rule).
  process.stdin.on('end', () => {
    void (driver?.close() ?? Promise.resolve()).finally(() => process.exit(0));
  });
  for (const sig of ['SIGTERM', 'SIGINT'] as const)
    process.on(sig, () => {
      void (driver?.close() ?? Promise.resolve()).finally(() => process.exit(0));
    });
  out({ ev: 'ready', pid: process.pid });
}

if (require.main === module) main();
