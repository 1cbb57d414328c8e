/**
 * Start-up warm-up ("rehearsal") of the GIST code paths, once per process.
 *
 * Why: a fresh node runs its first few thousand messages in V8's interpreter
 * and baseline tiers; at 1,000 handshakes on fresh processes the querier spent
 * ~140 us of CPU per handshake against ~45 us once warm (issue #4). So the first
 * `RealGistDriver.start()` in a process (natfwd, cli-node, anything that starts
 * a driver) first runs `count` complete Query/Response/Confirm handshakes plus
 * some D-mode Data between two throw-away GIST cores, each behind a throw-away
 * RealGistDriver in rehearsal mode: the same driver code (run, drain, perform,
 * the datagram objects it builds for the core, the timer) except that a UDP
 * transmit is handed to the other driver in memory instead of a socket.
 *
 * What it is not: it sends nothing on any network (no socket is opened), it
 * keeps no state (both cores and drivers are dropped, their timers closed),
 * it does not touch the real node (which is created by the caller and never
 * seen here), and it pre-creates no session. It only costs start-up time
 * (about 0.2-0.4 s of CPU for the default 2,000 handshakes); `warmUp: 0` in
 * RealGistDriverOptions skips it.
 */
import { serialize } from 'node:v8';
import { createGistNode, type GistNode } from '../core';
import type { Transmit } from '../core/driver-api';
import type { PathCoupledMri } from '../types';
import { pooledRandomBytes } from './random';

type UdpTransmit = Extract<Transmit, { kind: 'udp' }>;

/** The rehearsal side of a RealGistDriver (implemented there; kept narrow so this module does not import it). */
export interface RehearsalDriver {
  /** Hands one UDP transmit of the peer to this driver as if it had arrived on the matching socket. */
  deliverRehearsal(t: UdpTransmit): void;
  /** Calls into the core with the driver's clock, then drains (the same entry point NSLP calls use). */
  run<T>(fn: (now: number) => T): T | undefined;
  close(): Promise<void>;
}

/** Makes a driver in rehearsal mode for `core`; its UDP transmits go to `sink` instead of a socket. */
export type RehearsalFactory = (core: GistNode, sink: (from: RehearsalDriver, t: UdpTransmit) => void) => RehearsalDriver;

export interface WarmUpReport {
  readonly handshakes: number;
  readonly completed: number;
  readonly dataMessages: number;
  readonly ms: number;
}

/** Default number of rehearsed handshakes (measured: 300 removes about half of the cold cost, 2,000 nearly all of it). */
export const DEFAULT_WARM_UP_HANDSHAKES = 2000;

let done = false;

/** true once a warm-up ran (or was claimed) in this process. */
export function warmedUp(): boolean {
  return done;
}

const NSLP = 33;
/** Queriers per rehearsal: a responder's first contact with a peer takes other branches than later ones. */
const QUERIERS = 4;

/** Addresses of the rehearsal's cores: never on a wire (no socket), documentation/benchmarking ranges all the same. */
function address(v: 4 | 6, i: number): string {
  return v === 4 ? `198.18.0.${i + 1}` : `2001:db8::${(i + 1).toString(16)}`;
}

function mri(v: 4 | 6, from: number, i: number): PathCoupledMri {
  return {
    mrm: 'path-coupled',
    ipVersion: v,
    sourceAddress: address(v, from),
    destinationAddress: address(v, QUERIERS),
    sourcePrefix: v === 4 ? 32 : 128,
    destinationPrefix: v === 4 ? 32 : 128,
    protocol: 17,
    sourcePort: 1024 + (i % 60000),
    destinationPort: 5000 + Math.floor(i / 60000),
    direction: 'downstream',
  };
}

/**
 * Runs the rehearsal once per process (later calls return undefined at once).
 * `ipVersions`: the IP versions the real node uses (each gets its share of `count`).
 */
export async function warmUpOnce(count: number, ipVersions: readonly (4 | 6)[], factory: RehearsalFactory): Promise<WarmUpReport | undefined> {
  if (done || count <= 0) return undefined;
  done = true;
  const t0 = performance.now();
  // The first Buffer that Node's C++ side creates (dgram makes one for every received datagram)
  // invalidates a V8 protector, and with it every optimized function that reads typed arrays
  // (the codec, the HMAC of the cookies): measured as a deopt of all of them at the first real
  // Query. v8.serialize returns such a Buffer; doing it first lets the rehearsal's code survive.
  serialize(0);
  // Closing a driver writes fields (closed, the timer's) that were constant until then, and V8
  // throws away optimized code that relied on that: close one before rehearsing, not after.
  const probe = factory(createGistNode({ addresses: [address(4, QUERIERS + 1)], randomBytes: pooledRandomBytes }), () => undefined);
  await probe.close();
  const versions: (4 | 6)[] = ipVersions.length > 0 ? [...new Set(ipVersions)] : [4];
  let completed = 0;
  let dataMessages = 0;
  for (const v of versions) {
    const r = await rehearse(v, Math.ceil(count / versions.length), factory);
    completed += r.completed;
    dataMessages += r.data;
  }
  return { handshakes: count, completed, dataMessages, ms: performance.now() - t0 };
}

async function rehearse(v: 4 | 6, count: number, factory: RehearsalFactory): Promise<{ completed: number; data: number }> {
  const queue: { to: RehearsalDriver; t: UdpTransmit }[] = [];
  const byAddress = new Map<string, RehearsalDriver>();
  const sink = (_from: RehearsalDriver, t: UdpTransmit): void => {
    const to = byAddress.get(t.destination.address);
    if (to !== undefined) queue.push({ to, t });
  };
  const make = (i: number): { core: GistNode; driver: RehearsalDriver } => {
    const core = createGistNode({ addresses: [address(v, i)], randomBytes: pooledRandomBytes });
    core.registerNslp(NSLP);
    const driver = factory(core, sink);
    byAddress.set(address(v, i), driver);
    return { core, driver };
  };
  const responder = make(QUERIERS);
  const queriers = Array.from({ length: QUERIERS }, (_, i) => make(i));
  let completed = 0;
  let data = 0;
  for (const q of queriers)
    q.core.events.on('messageStatus', (ev) => {
      if (ev.error === undefined) completed++;
    });
  responder.core.events.on('recvMessage', (ev) => {
    if (!ev.routingStateCheck) data++;
  });
  const payload = new Uint8Array(16);
  const sessions: { sid: Uint8Array; mri: PathCoupledMri }[][] = queriers.map(() => []);
  const pump = (): void => {
    // Bounded: a handshake is three datagrams; anything beyond that is a bug, not a reason to spin.
    for (let i = 0; i < 64 * 1024 && queue.length > 0; i++) {
      const d = queue.shift();
      if (d !== undefined) d.to.deliverRehearsal(d.t);
    }
    queue.length = 0;
  };
  try {
    // The shape of a real burst: a chunk of new sessions per event-loop turn, then their replies.
    const chunk = 32;
    for (let sent = 0, turn = 0; sent < count; turn++) {
      const k = Math.min(chunk, count - sent);
      const qi = turn % QUERIERS;
      const q = queriers[qi];
      const base = sent;
      q.driver.run((now) => {
        for (let i = 0; i < k; i++) {
          const s = { sid: pooledRandomBytes(16), mri: mri(v, qi, base + i) };
          if (sessions[qi].length < 64) sessions[qi].push(s);
          q.core.sendMessage(now, { nslpId: NSLP, sessionId: s.sid, mri: s.mri, nslpData: payload, nslpMessageHandle: base + i });
        }
      });
      sent += k;
      pump();
      // Data on sessions this querier established in an earlier turn (D-mode), as an NSLP sends after its handshake.
      if (turn >= QUERIERS) {
        const own = sessions[qi];
        q.driver.run((now) => {
          for (let i = 0; i < 4; i++) {
            const s = own[(turn + i) % own.length];
            q.core.sendMessage(now, { nslpId: NSLP, sessionId: s.sid, mri: s.mri, nslpData: payload });
          }
        });
        pump();
      }
      // Let timers and I/O of the real process run between chunks, as a real burst does.
      if (turn % 16 === 15) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    for (const n of [responder, ...queriers]) await n.driver.close();
  }
  return { completed, data };
}
