/**
 * Load generators for benchmarks and the cli-node fixture: a burst of new
 * sessions (one Query/Response/Confirm handshake each) and a burst of Data
 * messages on one established session. Sessions are offered a chunk per
 * event-loop turn so that replies are processed while the burst goes on.
 */
import type { GistNode } from '../core';
import { udpFlowMri, type Mri, type NslpId, type PathCoupledMri } from '../types';
import { pooledRandomBytes } from './random';
import type { RealGistDriver } from './real-driver';

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

export function flowMri(src: string, dst: string, sourcePort: number, destinationPort: number): PathCoupledMri {
  return udpFlowMri(src, dst, { sourcePort, destinationPort });
}

export interface BurstResult {
  /** Handshakes (or messages) completed within the time limit. */
  readonly completed: number;
  readonly ms: number;
}

let flowCounter = 0;

// Handles stay small integers (V8 Smis, below 2^30): a heap number here would be the one field
// of the core's status path whose representation the rehearsal never saw.
let handleCounter = 1 << 29;

/**
 * Starts `count` new sessions (a distinct flow and Session ID each, the NSLP
 * payload riding in the Query) and resolves when each session's handshake has
 * completed at the querier (its first matching Response arrived, the Confirm
 * went out: the MessageStatus success for the payload, counted once per
 * session however many Queries were retransmitted), or at the time limit.
 * `window` (default: unlimited) caps the sessions whose handshake is still
 * running, as an NSLP with admission control would.
 */
export async function handshakeBurst(
  node: GistNode,
  driver: RealGistDriver,
  o: { count: number; nslpId: NslpId; src: string; dst: string; chunk?: number; timeoutMs?: number; window?: number },
): Promise<BurstResult & { failed: number }> {
  // 32 per turn: libuv reads at most 32 datagrams per socket per loop turn, so offering more new
  // sessions per turn than replies can be read starves the replies into spurious retransmissions.
  const chunk = o.chunk ?? 32;
  const window = o.window ?? Infinity;
  const timeoutMs = o.timeoutMs ?? 60_000;
  const first = handleCounter;
  handleCounter += o.count;
  let completed = 0;
  let failed = 0;
  // One pending wake-up at a time: resolved once this burst's finished handshakes reach `wake.at`
  // (one status event, not a timer per event), or by its timer.
  let wake: { at: number; resolve: () => void; timer: NodeJS.Timeout } | undefined;
  const untilFinished = (at: number, ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        wake = undefined;
        resolve();
      }, ms);
      wake = { at, resolve, timer };
    });
  const onStatus = (ev: { nslpMessageHandle: number; error?: string }): void => {
    if (ev.nslpMessageHandle < first || ev.nslpMessageHandle >= first + o.count) return;
    if (ev.error === undefined) completed++;
    else failed++;
    if (wake !== undefined && completed + failed >= wake.at) {
      const w = wake;
      wake = undefined;
      clearTimeout(w.timer);
      w.resolve();
    }
  };
  node.events.on('messageStatus', onStatus);
  const data = new Uint8Array(4);
  const t0 = performance.now();
  let sent = 0;
  try {
    while (sent < o.count && performance.now() - t0 < timeoutMs) {
      const k = Math.min(chunk, o.count - sent, window - (sent - completed - failed));
      if (k > 0) {
        driver.run((now) => {
          for (let i = 0; i < k; i++) {
            const f = flowCounter++;
            const mri = flowMri(o.src, o.dst, 1024 + (f % 60000), 5000 + Math.floor(f / 60000));
            node.sendMessage(now, { nslpId: o.nslpId, sessionId: pooledRandomBytes(16), mri, nslpData: data, nslpMessageHandle: first + sent + i });
          }
        });
        sent += k;
        await turn();
      } else {
        // The window is full: wait for the next finished handshake (or 1 ms), not a polling loop.
        await untilFinished(completed + failed + 1, 1);
      }
    }
    // The clock stops at the status event that completes the burst, not at the next poll.
    while (completed + failed < o.count && performance.now() - t0 < timeoutMs) await untilFinished(o.count, Math.max(1, timeoutMs - (performance.now() - t0)));
  } finally {
    node.events.off('messageStatus', onStatus);
    if (wake !== undefined) clearTimeout(wake.timer);
  }
  return { completed, failed, ms: performance.now() - t0 };
}

/** Sends `count` Data messages on an established session (reliable = C-mode), a chunk per turn. */
export async function dataBurst(
  node: GistNode,
  driver: RealGistDriver,
  o: { count: number; nslpId: NslpId; sessionId: Uint8Array; mri: Mri; reliable: boolean; size?: number; chunk?: number },
): Promise<void> {
  const data = new Uint8Array(o.size ?? 64);
  const chunk = o.chunk ?? 100;
  for (let sent = 0; sent < o.count; ) {
    const k = Math.min(chunk, o.count - sent);
    driver.run((now) => {
      for (let i = 0; i < k; i++) node.sendMessage(now, { nslpId: o.nslpId, sessionId: o.sessionId, mri: o.mri, nslpData: data, transfer: { reliable: o.reliable } });
    });
    sent += k;
    await turn();
  }
}
