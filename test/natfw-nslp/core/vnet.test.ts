/** NATFW over the real GIST core on sim/vnet, with memory enforcement backends. */
import type { NatfwResponseError } from '../../../natfw-nslp/core/codes';
import { ADDR, lineLab3 } from './harness';

describe('NATFW over GIST on the virtual network', () => {
  test('NI - NF - NF - NR: CREATE installs a pinhole at both NFs and the NI gets the granted lifetime', async () => {
    const lab = lineLab3();
    const ni = lab.get('ni').node;
    let granted = -1;
    let error: NatfwResponseError | undefined;
    ni.events.on('established', (e) => (granted = e.lifetime));
    ni.events.on('failed', (e) => (error = e.error));
    ni.create(lab.now, { mri: lab.flow(), lifetime: 30 });
    await lab.runFor(500);
    expect(error).toBeUndefined();
    expect(granted).toBe(30);
    for (const nf of ['nf1', 'nf2']) {
      const p = lab.get(nf).pinholes;
      expect(p.list()).toHaveLength(1);
      expect(p.lookup({ protocol: 17, src: ADDR.ni, srcPort: 40000, dst: ADDR.nr, dstPort: 5004 }).verdict).toBe('allow');
    }
  });
});
