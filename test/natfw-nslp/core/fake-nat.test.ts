/** EXTERNAL at an edge NAT, then CREATE to the reserved external address; proxy mode (fake GIST). */
import type { LooseEndMri, PathCoupledMri } from '../../../gist/types';
import { FakeLab } from './fake-lab';
import { sidNonce } from '../../../natfw-nslp/core/node';

const DS = '198.18.50.1';
const DR = '198.18.0.1';
const NAT_EXT = '198.18.9.1';
const NAT_INT = '198.18.0.254';

function natLab(): FakeLab {
  const lab = new FakeLab();
  lab.add('ds', DS);
  lab.add('nat', NAT_EXT, { kind: 'nat', edge: true, nat: { externalAddress: NAT_EXT, internalPrefixes: [{ address: '198.18.0.0', length: 24 }], ports: { from: 45000, to: 45099 } } }, { addresses: [NAT_EXT, NAT_INT] });
  lab.add('dr', DR);
  const side = (a: string): 'in' | 'out' | 'nat' => (a === NAT_EXT || a === NAT_INT ? 'nat' : a.startsWith('198.18.0.') ? 'in' : 'out');
  lab.net.route = (s, d) => {
    const a = side(s);
    const b = side(d);
    const host = (x: 'in' | 'out'): string => (x === 'in' ? 'dr' : 'ds');
    if (a === 'nat' || b === 'nat') return a === 'nat' ? (b === 'nat' ? ['nat'] : ['nat', host(b as 'in' | 'out')]) : [host(a), 'nat'];
    return a === b ? [host(a)] : [host(a), 'nat', host(b)];
  };
  return lab;
}

describe('NAT traversal with EXTERNAL (fake GIST)', () => {
  test('EXTERNAL reserves an external address/port; a CREATE to it crosses the NAT, is rewritten and installs binding + pinhole', async () => {
    const lab = natLab();
    const dr = lab.get('dr').node;
    let ext: { address: string; port: number } | undefined;
    dr.events.on('established', (e) => (ext = e.externalIp));
    const reserved: Array<{ first: boolean; lifetime: number; externalIp?: { address: string; port: number } }> = [];
    lab.get('nat').node.events.on('reserved', (e) => reserved.push(e));
    const le: LooseEndMri = { mrm: 'loose-end', ipVersion: 4, sourceAddress: DR, destinationAddress: DS, direction: 'towards-edge' };
    dr.external(0, { mri: le, dtinfo: { protocol: 17, drPort: 5004, dsPort: 0, senderPrefix: 0, senderAddress: '0.0.0.0' }, lifetime: 60 });
    await lab.runFor(100);
    expect(ext?.address).toBe(NAT_EXT);
    // The edge tells its operator what it reserved, the same address and port the DR was given.
    expect(reserved).toEqual([expect.objectContaining({ first: true, lifetime: 60, externalIp: ext })]);
    expect(ext?.port).toBeGreaterThanOrEqual(45000);
    expect(ext?.port).toBeLessThanOrEqual(45099);
    // Nothing is open yet: EXTERNAL only reserves (s3.7.2).
    expect(lab.get('nat').pinholes.list()).toHaveLength(0);
    expect(lab.get('nat').pinholes.listBindings()).toHaveLength(0);

    const ds = lab.get('ds').node;
    let created = -1;
    ds.events.on('established', (e) => (created = e.lifetime));
    let incoming: PathCoupledMri | undefined;
    dr.events.on('incoming', (e) => (incoming = e.mri as PathCoupledMri));
    const port = ext?.port ?? 0;
    ds.create(lab.now, {
      mri: { mrm: 'path-coupled', ipVersion: 4, sourceAddress: DS, destinationAddress: NAT_EXT, sourcePrefix: 32, destinationPrefix: 32, protocol: 17, sourcePort: 33000, destinationPort: port, direction: 'downstream' },
      lifetime: 60,
    });
    await lab.runFor(100);
    expect(created).toBe(60);
    // The NR saw the MRI rewritten to its internal address and port.
    expect(incoming).toMatchObject({ destinationAddress: DR, destinationPort: 5004, sourceAddress: DS });
    const nat = lab.get('nat').pinholes;
    expect(nat.listBindings()).toEqual([expect.objectContaining({ protocol: 17, external: { address: NAT_EXT, port }, internal: { address: DR, port: 5004 } })]);
    expect(nat.lookup({ protocol: 17, src: DS, srcPort: 33000, dst: DR, dstPort: 5004 }).verdict).toBe('allow');
  });

  test('a CREATE to the external address that matches no reservation is refused with 7/0x03', async () => {
    const lab = natLab();
    const ds = lab.get('ds').node;
    let code = '';
    ds.events.on('failed', (e) => (code = e.error.responseName));
    ds.create(0, {
      mri: { mrm: 'path-coupled', ipVersion: 4, sourceAddress: DS, destinationAddress: NAT_EXT, sourcePrefix: 32, destinationPrefix: 32, protocol: 17, sourcePort: 33000, destinationPort: 45001, direction: 'downstream' },
    });
    await lab.runFor(100);
    expect(code).toBe('NO_RESERVATION');
    expect(lab.get('nat').node.sessionCount).toBe(0);
  });

  test('a data sender behind the NAT: the CREATE gets a binding and its source rewritten', async () => {
    const lab = natLab();
    const dr = lab.get('dr').node; // inside host sends this time
    let incoming: PathCoupledMri | undefined;
    lab.get('ds').node.events.on('incoming', (e) => (incoming = e.mri as PathCoupledMri));
    let ok = false;
    dr.events.on('established', () => (ok = true));
    dr.create(0, { mri: { mrm: 'path-coupled', ipVersion: 4, sourceAddress: DR, destinationAddress: DS, sourcePrefix: 32, destinationPrefix: 32, protocol: 6, sourcePort: 5555, destinationPort: 443, direction: 'downstream' } });
    await lab.runFor(100);
    expect(ok).toBe(true);
    expect(incoming?.sourceAddress).toBe(NAT_EXT);
    const b = lab.get('nat').pinholes.listBindings();
    expect(b).toHaveLength(1);
    expect(b[0]).toMatchObject({ protocol: 6, internal: { address: DR, port: 5555 }, external: { address: NAT_EXT, port: incoming?.sourcePort } });
  });

  test('CREATE-PROXY ends at the edge, which answers as NR and installs', async () => {
    const lab = natLab();
    const dr = lab.get('dr').node;
    let ok = false;
    dr.events.on('established', () => (ok = true));
    let dsSaw = false;
    lab.get('ds').node.events.on('incoming', () => (dsSaw = true));
    dr.create(0, { proxy: true, mri: { mrm: 'path-coupled', ipVersion: 4, sourceAddress: DR, destinationAddress: DS, sourcePrefix: 32, destinationPrefix: 32, protocol: 17, sourcePort: 5555, destinationPort: 6000, direction: 'downstream' } });
    await lab.runFor(100);
    expect(ok).toBe(true);
    expect(dsSaw).toBe(false);
    expect(lab.get('nat').pinholes.list()).toHaveLength(1);
  });

  test('EXTERNAL-PROXY: the edge answers, activates the binding itself and sends a CREATE with the nonce; teardown takes both', async () => {
    const lab = natLab();
    const dr = lab.get('dr').node;
    let ext: { address: string; port: number } | undefined;
    dr.events.on('established', (e) => (ext = e.externalIp));
    const nonces: (number | undefined)[] = [];
    dr.events.on('incoming', (e) => nonces.push(e.nonce));
    const le: LooseEndMri = { mrm: 'loose-end', ipVersion: 4, sourceAddress: DR, destinationAddress: DS, direction: 'towards-edge' };
    const key = dr.external(0, { proxy: true, mri: le, dtinfo: { protocol: 17, drPort: 5004, dsPort: 0, senderPrefix: 0, senderAddress: '0.0.0.0' }, lifetime: 21 });
    await lab.runFor(100);
    expect(ext?.address).toBe(NAT_EXT);
    const extSid = dr.session(key)?.sessionId ?? new Uint8Array(16);
    expect(nonces).toEqual([sidNonce(extSid)]);
    const nat = lab.get('nat');
    expect(nat.pinholes.listBindings()).toEqual([expect.objectContaining({ external: { address: NAT_EXT, port: ext?.port }, internal: { address: DR, port: 5004 } })]);
    expect(nat.pinholes.lookup({ protocol: 17, src: '198.18.77.7', srcPort: 1234, dst: DR, dstPort: 5004 }).verdict).toBe('allow');
    // The proxy CREATE lives as long as the EXTERNAL-PROXY is refreshed.
    await lab.runFor(60_000);
    expect(dr.listSessions().map((s) => s.role).sort()).toEqual(['NI+', 'NR']);
    expect(nat.node.listSessions().map((s) => s.role).sort()).toEqual(['NF', 'NI']);
    dr.teardown(lab.now, key);
    await lab.runFor(100);
    expect(nat.node.sessionCount).toBe(0);
    expect(nat.pinholes.list()).toHaveLength(0);
    expect(nat.pinholes.listBindings()).toHaveLength(0);
    expect(dr.sessionCount).toBe(0);
  });
});
