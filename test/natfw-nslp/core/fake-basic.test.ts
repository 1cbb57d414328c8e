/** Unit tests of the NATFW core over a fake GIST (fake-gist.ts): the protocol logic alone. */
import type { PathCoupledMri } from '../../../gist/types';
import type { NatfwResponseError } from '../../../natfw-nslp/core/codes';
import { lineLab, type FakeLab } from './fake-lab';

const flow = (dport = 5004, protocol = 17): PathCoupledMri => ({
  mrm: 'path-coupled',
  ipVersion: 4,
  sourceAddress: '198.18.0.1',
  destinationAddress: '198.18.3.1',
  sourcePrefix: 32,
  destinationPrefix: 32,
  protocol,
  sourcePort: 40000,
  destinationPort: dport,
  direction: 'downstream',
});

function outcome(lab: FakeLab, key: string): { established?: number; error?: NatfwResponseError } {
  const o: { established?: number; error?: NatfwResponseError } = {};
  const ni = lab.get('ni').node;
  ni.events.on('established', (e) => {
    if (e.key === key) o.established = e.lifetime;
  });
  ni.events.on('failed', (e) => {
    if (e.key === key) o.error = e.error;
  });
  return o;
}

describe('NATFW core over a fake GIST', () => {
  test('CREATE through two NFs installs a pinhole at each, RESPONSE comes back', async () => {
    const lab = lineLab();
    const key = lab.get('ni').node.create(0, { mri: flow(), lifetime: 60 });
    const o = outcome(lab, key);
    await lab.runFor(100);
    expect(o.error).toBeUndefined();
    expect(o.established).toBe(60);
    for (const nf of ['nf1', 'nf2']) {
      const ph = lab.get(nf).pinholes.list();
      expect(ph).toHaveLength(1);
      expect(ph[0]).toMatchObject({ protocol: 17, action: 'allow', dst: { address: '198.18.3.1', length: 32 }, dstPorts: { from: 5004, to: 5004 }, srcPorts: { from: 40000, to: 40000 } });
      expect(lab.get(nf).pinholes.lookup({ protocol: 17, src: '198.18.0.1', srcPort: 40000, dst: '198.18.3.1', dstPort: 5004 }).verdict).toBe('allow');
    }
    expect(lab.get('nr').node.session(key)?.role).toBe('NR');
  });
});
