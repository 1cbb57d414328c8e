/**
 * Integration mode: the administrator's own table has the forwarding policy
 * (default drop) and accepts what natfw marked. An accept in natfw's table
 * would not override the admin's drop (each base chain decides on its own),
 * which is why this mode marks instead.
 */
import { NftPinholeSet } from '../../enforcement/nft/backend';
import { LINE, NetnsLab } from '../../testbed/netns';
import { describeNetns } from '../helpers/netns';
import { echoServer, flow, killAll, probe, sleep } from './helpers/traffic';

const { A4, B4 } = LINE;

describeNetns(
  'nftables backend in integration mode',
  () => {
    let lab: NetnsLab;
    beforeAll(() => {
      lab = NetnsLab.line('int');
    });
    afterAll(() => {
      killAll();
      lab?.destroy();
    });

    test("the admin's rule accepts marked packets; no pinhole, no entry; removal cuts the flow", async () => {
      const netns = lab.ns('R');
      lab.exec('R', 'nft', ['-f', '-'], [
        'table inet admin {',
        '  chain forward {',
        '    type filter hook forward priority filter; policy drop;',
        '    meta mark & 0x00200000 == 0x00200000 accept',
        '    ct state established,related accept',
        '  }',
        '}',
      ].join('\n') + '\n');
      const { set } = await NftPinholeSet.open({ netns, now: Date.now(), mode: 'integration', markBits: 0x00200000 });
      const stop = (await echoServer(lab, 'B', 'udp', B4, 5000)).stop;
      try {
        expect(await probe(lab, 'A', 'udp', A4, 40001, B4, 5000)).toBe(false);
        const tx = set.begin();
        const id = tx.add({ protocol: 17, src: { address: A4, length: 32 }, dst: { address: B4, length: 32 }, dstPorts: { from: 5000, to: 5000 }, action: 'allow', owner: 'int', expiresAt: Date.now() + 60_000 });
        await tx.commit(Date.now());
        expect(await probe(lab, 'A', 'udp', A4, 40002, B4, 5000)).toBe(true);
        const f = flow(lab, 'A', 'udp', A4, 40003, B4, 5000);
        try {
          expect(await f.more(10, 10_000)).toBe(true);
          const rm = set.begin();
          rm.remove(id);
          await rm.commit(Date.now());
          await sleep(500);
          // The admin accepts established flows, but natfw's own chain drops flows it admitted whose pinhole is gone.
          expect(await f.more(1, 1000)).toBe(false);
        } finally {
          f.stop();
        }
        // The admin's table is untouched by natfw.
        expect(lab.exec('R', 'nft', ['list', 'table', 'inet', 'admin'])).toMatch(/meta mark & 0x00200000 == 0x00200000 accept/);
        await NftPinholeSet.teardown({ netns });
        expect(lab.exec('R', 'nft', ['list', 'tables']).trim()).toBe('table inet admin');
      } finally {
        stop();
        set.close();
      }
    }, 60_000);
  },
  ['nft'],
);
