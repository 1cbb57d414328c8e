/**
 * A refresh at an unchanged lifetime must move the kernel deadline. The
 * kernel updates an existing element's expiry on re-add only when the timeout
 * differs or an expiration is sent; a refresh that re-sent just the same
 * timeout left the first deadline, so pinholes of a session refreshed at a
 * steady lifetime closed lifetime + grace after they were opened (found by
 * the real-daemon path test). Real netfilter in a namespace of its own.
 */
import { NftPinholeSet } from '../../enforcement/nft/backend';
import type { PinholeSpec } from '../../enforcement';
import { NetnsLab } from '../../testbed/netns';
import { describeNetns } from '../helpers/netns';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** An exact UDP allow pinhole 198.18.10.1 -> dst:dport. */
const allow = (dst: string, dport: number, owner: string, expiresAt: number): PinholeSpec => ({
  protocol: 17,
  src: { address: '198.18.10.1', length: 32 },
  dst: { address: dst, length: 32 },
  dstPorts: { from: dport, to: dport },
  action: 'allow',
  owner,
  expiresAt,
});

describeNetns(
  'nftables backend: refresh at the same lifetime',
  () => {
    let lab: NetnsLab;
    let set: NftPinholeSet;

    beforeAll(async () => {
      lab = new NetnsLab('rfr');
      lab.addNode({ name: 'R', forward: true });
      ({ set } = await NftPinholeSet.open({ netns: lab.ns('R'), now: Date.now(), graceMs: 1000 }));
    }, 60_000);

    afterAll(() => {
      set?.close();
      lab?.destroy();
    });

    test('keeps the pinhole (and its live mark) past its first deadline while refreshes come, and lets it go when they stop', async () => {
      const LIFETIME = 3000; // kernel timeout 4 s with the grace
      const t0 = Date.now();
      const tx = set.begin();
      const id = tx.add(allow('198.18.15.2', 5004, 'refresh-test', t0 + LIFETIME));
      await tx.commit(t0);
      const kernel = async (): Promise<Array<{ set: string; expiresS?: number }>> => (await set.readKernel()).elements;
      // Refresh every second at the same lifetime, three times: the last one at t0 + 3 s.
      for (let i = 1; i <= 3; i++) {
        await sleep(Math.max(0, t0 + 1000 * i - Date.now()));
        // One clock reading for both, as the daemon's NSLP core does: the same timeout goes to the kernel each time.
        const now = Date.now();
        const r = set.begin();
        r.refresh(id, now + LIFETIME);
        await r.commit(now);
      }
      // t0 + 4.5 s: the first deadline (t0 + 4 s) has passed and no refresh re-created the element since t0 + 3 s:
      // it is there only if the refreshes moved its deadline (to t0 + 7 s).
      await sleep(Math.max(0, t0 + 4500 - Date.now()));
      const mid = await kernel();
      const pin = mid.find((e) => e.set === set.kernelSetOf(id));
      expect(pin).toBeDefined();
      expect(pin?.expiresS).toBeGreaterThanOrEqual(2);
      expect(mid.some((e) => e.set === 'live')).toBe(true);
      // No refresh after t0 + 3 s: the kernel drops it by t0 + 7 s, checked with a second of slack.
      await sleep(Math.max(0, t0 + 8000 - Date.now()));
      expect((await kernel()).some((e) => e.set === set.kernelSetOf(id))).toBe(false);
    }, 30_000);

    test('a read-only open lists a pinhole in its kernel grace time (it still admits packets); a repairing open removes it', async () => {
      const t0 = Date.now();
      const tx = set.begin();
      const id = tx.add(allow('198.18.15.3', 5006, 'grace-test', t0 + 1000)); // kernel timeout 2 s with this set's 1 s grace
      await tx.commit(t0);
      await sleep(Math.max(0, t0 + 1400 - Date.now()));
      // Past the lifetime, inside the grace: the kernel still has the element.
      const { set: reader } = await NftPinholeSet.open({ netns: lab.ns('R'), now: Date.now(), graceMs: 1000, setup: false, repair: false });
      try {
        const seen = reader.list().find((p) => p.owner === 'grace-test');
        expect(seen).toBeDefined();
        expect(seen?.expiresAt).toBeLessThan(Date.now());
      } finally {
        reader.close();
      }
      expect((await set.readKernel()).elements.some((e) => e.set === set.kernelSetOf(id))).toBe(true);
      // Repairing (natfwd at start, adopting what is consistent): a pinhole past its lifetime belongs to an ended session.
      const { set: repairer } = await NftPinholeSet.open({ netns: lab.ns('R'), now: Date.now(), graceMs: 1000, setup: false, repair: true });
      repairer.close();
      expect((await set.readKernel()).elements.some((e) => e.set === set.kernelSetOf(id))).toBe(false);
    }, 30_000);
  },
  ['nft'],
);
