/**
 * The start-up rehearsal (gist/driver/warmup.ts): it really runs complete
 * handshakes and D-mode Data through the driver code, once per process, opens
 * no socket, leaves no timer or other handle behind, and `warmUp: 0` skips it.
 */
import { createGistNode } from '../../../gist/core';
import { RealGistDriver } from '../../../gist/driver/real-driver';
import { pooledRandomBytes } from '../../../gist/driver/random';
import { warmedUp } from '../../../gist/driver/warmup';

/** Kinds of libuv handles/requests alive now (Timeout, UDPWRAP, TCPWRAP, ...), counted. */
function resources(): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) m.set(r, (m.get(r) ?? 0) + 1);
  return m;
}

describe('RealGistDriver.warmUp (start-up rehearsal)', () => {
  it('runs every rehearsed handshake to completion over the driver code, without sockets, once per process', async () => {
    expect(warmedUp()).toBe(false);
    const before = resources();
    const r = await RealGistDriver.warmUp({ handshakes: 300, ipVersions: [4, 6] });
    expect(r).toBeDefined();
    // Split over both IP versions; each querier's handshake ends with MessageStatus success (Response seen, Confirm sent).
    expect(r?.handshakes).toBe(300);
    expect(r?.completed).toBe(300);
    // Data rode on established D-mode state and was delivered to the responder's NSLP.
    expect(r?.dataMessages).toBeGreaterThan(0);
    // Nothing left behind: no socket was ever opened, every rehearsal timer was closed.
    const after = resources();
    for (const kind of ['UDPWRAP', 'TCPWRAP', 'TCPSERVERWRAP']) expect(after.get(kind) ?? 0).toBe(before.get(kind) ?? 0);
    expect(after.get('Timeout') ?? 0).toBeLessThanOrEqual(before.get('Timeout') ?? 0);
    expect(warmedUp()).toBe(true);
    // Once per process: later calls (and every start()) do nothing.
    expect(await RealGistDriver.warmUp({ handshakes: 300 })).toBeUndefined();
  });

  it('does not disturb a real driver started afterwards: its start() reports no second warm-up and it works', async () => {
    const node = createGistNode({ addresses: ['127.0.0.1'], udpPort: 0, qmodePort: 0, tcpPort: 0, randomBytes: pooledRandomBytes });
    const d = await RealGistDriver.start(node, { bindAddresses: ['127.0.0.1'] });
    try {
      expect(d.warmUpReport).toBeUndefined();
      expect(d.ports.udp).toBeGreaterThan(0);
      // The real node saw nothing of the rehearsal.
      expect(node.routingStateCount).toBe(0);
      expect(node.stats.queriesSent).toBe(0);
    } finally {
      await d.close();
    }
  });
});

describe('warmUp: 0', () => {
  it('skips the rehearsal', async () => {
    // A fresh module registry: this process has not rehearsed as far as these modules know.
    let fresh: typeof import('../../../gist/driver/warmup') | undefined;
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      fresh = require('../../../gist/driver/warmup') as typeof import('../../../gist/driver/warmup');
    });
    if (fresh === undefined) throw new Error('module not loaded');
    expect(fresh.warmedUp()).toBe(false);
    expect(await fresh.warmUpOnce(0, [4], () => {
      throw new Error('must not be called');
    })).toBeUndefined();
    expect(fresh.warmedUp()).toBe(false);
  });
});
