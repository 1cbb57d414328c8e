/** Session life cycle over the fake GIST: deny, refresh, teardown, expiry, MSN, NOTIFY, route change, scale. */
import type { PathCoupledMri } from '../../../gist/types';
import { jsonCodec } from './json-codec';
import { lineLab } from './fake-lab';
import { wireCodec } from '../../../natfw-nslp/core/codec-adapter';

const flow = (over: Partial<PathCoupledMri> = {}): PathCoupledMri => ({
  mrm: 'path-coupled',
  ipVersion: 4,
  sourceAddress: '198.18.0.1',
  destinationAddress: '198.18.3.1',
  sourcePrefix: 32,
  destinationPrefix: 32,
  protocol: 17,
  sourcePort: 40000,
  destinationPort: 5004,
  direction: 'downstream',
  ...over,
});

describe('NATFW session life cycle (fake GIST)', () => {
  test('deny rule with sub_ports=1 is installed as deny for port and port+1', async () => {
    const lab = lineLab();
    lab.get('ni').node.create(0, { mri: flow(), action: 'deny', subPorts: 1, lifetime: 30 });
    await lab.runFor(100);
    for (const nf of ['nf1', 'nf2']) {
      const ph = lab.get(nf).pinholes.list();
      expect(ph).toHaveLength(1);
      expect(ph[0]).toMatchObject({ action: 'deny', dstPorts: { from: 5004, to: 5005 } });
    }
  });

  test('lifetime is lowered to the smallest maximum on the path and reported in the RESPONSE', async () => {
    const lab = lineLab({ nf: { policy: { maxLifetime: 20, minLifetime: 1, allowDeny: true } } });
    const ni = lab.get('ni').node;
    let granted = -1;
    ni.events.on('established', (e) => (granted = e.lifetime));
    ni.create(0, { mri: flow(), lifetime: 60 });
    await lab.runFor(100);
    expect(granted).toBe(20);
    expect(lab.get('nf1').node.listSessions()[0].lifetime).toBe(20);
  });

  test('the NI refreshes with jitter before the lifetime ends and the pinholes stay', async () => {
    const lab = lineLab();
    const ni = lab.get('ni').node;
    const refreshes: number[] = [];
    ni.events.on('refreshed', (e) => refreshes.push(e.now));
    ni.create(0, { mri: flow(), lifetime: 21 });
    await lab.runFor(100_000);
    // R = 21 s / 5.25 = 4 s, refreshes every 2..6 s: about 25 in 100 s.
    expect(refreshes.length).toBeGreaterThan(14);
    expect(refreshes.length).toBeLessThan(51);
    const gaps = refreshes.slice(1).map((t, i) => t - refreshes[i]);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1990);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(6010);
    expect(new Set(gaps).size).toBeGreaterThan(3);
    expect(lab.get('nf1').pinholes.list()).toHaveLength(1);
    expect(lab.get('nf2').pinholes.list()[0].expiresAt).toBeGreaterThan(lab.now);
  });

  test('teardown (lifetime 0) removes the state at every hop at once', async () => {
    const lab = lineLab();
    const ni = lab.get('ni').node;
    const key = ni.create(0, { mri: flow(), lifetime: 60 });
    await lab.runFor(100);
    expect(lab.get('nf2').pinholes.list()).toHaveLength(1);
    ni.teardown(lab.now, key);
    await lab.runFor(100);
    for (const n of ['ni', 'nf1', 'nf2', 'nr']) expect(lab.get(n).node.sessionCount).toBe(0);
    expect(lab.get('nf1').pinholes.list()).toHaveLength(0);
    expect(lab.get('nf2').pinholes.list()).toHaveLength(0);
  });

  test('when the NI stops refreshing, NFs remove session and pinholes at the lifetime (grace 0 at the core)', async () => {
    const lab = lineLab();
    const ni = lab.get('ni').node;
    ni.create(0, { mri: flow(), lifetime: 10 });
    await lab.runFor(50);
    const establishedAt = lab.now;
    // The NI host dies: its messages are lost from now on.
    lab.net.drop = (from) => from === 'ni';
    await lab.runUntil(establishedAt + 9_000);
    expect(lab.get('nf1').pinholes.list()).toHaveLength(1);
    await lab.runUntil(establishedAt + 10_000 + 100);
    expect(lab.get('nf1').pinholes.list()).toHaveLength(0);
    expect(lab.get('nf2').pinholes.list()).toHaveLength(0);
    expect(lab.get('nf1').node.sessionCount).toBe(0);
  });

  test('the NI reports a refresh failure when no refresh gets through', async () => {
    const lab = lineLab();
    const ni = lab.get('ni').node;
    const key = ni.create(0, { mri: flow(), lifetime: 10 });
    const failed: string[] = [];
    ni.events.on('refreshFailed', (e) => failed.push(e.key));
    await lab.runFor(50);
    lab.net.drop = (from, to) => from === 'nf1' && to === 'nf2';
    await lab.runFor(12_000);
    expect(failed).toEqual([key]);
    expect(ni.sessionCount).toBe(0);
  });

  test('duplicate and old MSNs are discarded; a newer one is taken', async () => {
    const lab = lineLab();
    const ni = lab.get('ni').node;
    let sent: { data: Uint8Array; sid: Uint8Array } | undefined;
    const g = lab.net.byName('ni');
    const orig = g?.sendMessage.bind(g);
    if (g === undefined || orig === undefined) throw new Error('no gist');
    g.sendMessage = (now, req) => {
      sent = { data: req.nslpData, sid: req.sessionId };
      orig(now, req);
    };
    const key = ni.create(0, { mri: flow(), lifetime: 60 });
    await lab.runFor(100);
    const nf1 = lab.get('nf1').node;
    const before = nf1.session(key);
    const responses: number[] = [];
    lab.net.byName('ni')?.events.on('recvMessage', (ev) => {
      const m = jsonCodec.decode(ev.nslpData);
      if (m.ok && m.value.type === 'RESPONSE') responses.push(m.value.msn);
    });
    if (sent === undefined) throw new Error('nothing sent');
    // Replay the very same CREATE: discarded, no RESPONSE.
    orig(lab.now, { nslpData: sent.data, nslpId: 33, sessionId: sent.sid, mri: flow() });
    await lab.runFor(100);
    expect(responses).toHaveLength(0);
    expect(nf1.session(key)?.expiresAt).toBe(before?.expiresAt);
    // A newer MSN (the NI's next refresh) is answered.
    const m = jsonCodec.decode(sent.data);
    if (!m.ok || m.value.type !== 'CREATE') throw new Error('bad');
    orig(lab.now, { nslpData: jsonCodec.encode({ ...m.value, msn: (m.value.msn + 1) >>> 0 }), nslpId: 33, sessionId: sent.sid, mri: flow() });
    await lab.runFor(100);
    expect(responses).toEqual([(m.value.msn + 1) >>> 0]);
  });

  test('operator teardown at an NF: pinholes go, NOTIFY reaches the NI and the NR', async () => {
    const lab = lineLab();
    const ni = lab.get('ni').node;
    const key = ni.create(0, { mri: flow(), lifetime: 60 });
    await lab.runFor(100);
    const ended: string[] = [];
    for (const n of ['ni', 'nf1', 'nr']) lab.get(n).node.events.on('terminated', (e) => ended.push(`${n}:${e.reason}`));
    lab.get('nf2').node.terminate(lab.now, key);
    await lab.runFor(100);
    expect(lab.get('nf2').pinholes.list()).toHaveLength(0);
    expect(lab.get('nf1').pinholes.list()).toHaveLength(0);
    expect(ended.sort()).toEqual(['nf1:notify', 'ni:notify', 'nr:notify']);
    expect(ni.sessionCount).toBe(0);
  });

  test('an enforcement failure answers an error RESPONSE, leaves nothing installed and notifies downstream', async () => {
    const lab = lineLab();
    lab.failEnforcement.add('nf1');
    const ni = lab.get('ni').node;
    let code = '';
    ni.events.on('failed', (e) => (code = e.error.responseName));
    ni.create(0, { mri: flow(), lifetime: 60 });
    await lab.runFor(100);
    expect(code).toBe('INTERNAL_ERROR');
    expect(lab.get('nf1').pinholes.list()).toHaveLength(0);
    // nf2 had installed on the way back; the NOTIFY from nf1 removed it.
    expect(lab.get('nf2').pinholes.list()).toHaveLength(0);
    expect(lab.get('nf2').node.sessionCount).toBe(0);
    expect(lab.get('nr').node.sessionCount).toBe(0);
  });

  test('route change: the new path NF gets the pinhole at once, the old one loses it by expiry', async () => {
    const lab = lineLab({ extra: { transitoryHoldMs: 1000 } });
    lab.add('nf3', '198.18.4.1', { kind: 'firewall' }, { transitoryHoldMs: 1000 });
    const ni = lab.get('ni').node;
    ni.create(0, { mri: flow(), lifetime: 10 });
    await lab.runFor(100);
    expect(lab.get('nf2').pinholes.list()).toHaveLength(1);
    const changedAt = lab.now;
    const base = lab.net.route;
    lab.net.route = (s, d) => base(s, d).map((h) => (h === 'nf2' ? 'nf3' : h));
    // Within one refresh period (R = 10 s / 5.25 < 3 s, next refresh by 1.5 R) nf3 holds it.
    await lab.runUntil(changedAt + 2900);
    expect(lab.get('nf3').pinholes.list()).toHaveLength(1);
    expect(lab.get('nf1').pinholes.list()).toHaveLength(1);
    // nf2 no longer hears refreshes: gone within the lifetime + hold.
    await lab.runUntil(changedAt + 10_000 + 1000 + 100);
    expect(lab.get('nf2').pinholes.list()).toHaveLength(0);
    expect(lab.get('nf3').pinholes.list()).toHaveLength(1);
  });

  test('one NF holds 10,000 concurrent sessions (wire codec)', async () => {
    const lab = lineLab({ codec: wireCodec });
    const ni = lab.get('ni').node;
    let ok = 0;
    ni.events.on('established', () => ok++);
    for (let i = 0; i < 10_000; i++) {
      ni.create(0, { mri: flow({ sourcePort: 1024 + (i % 60000), destinationPort: 5000 + Math.floor(i / 60000) }), lifetime: 300 });
    }
    await lab.runFor(1000);
    expect(ok).toBe(10_000);
    expect(lab.get('nf1').node.sessionCount).toBe(10_000);
    expect(lab.get('nf1').pinholes.list()).toHaveLength(10_000);
    expect(lab.get('nf1').pinholes.lookup({ protocol: 17, src: '198.18.0.1', srcPort: 1024 + 9999, dst: '198.18.3.1', dstPort: 5000 }).verdict).toBe('allow');
  });
});
