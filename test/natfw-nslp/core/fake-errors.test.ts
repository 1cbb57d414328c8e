/** Every error RESPONSE of RFC 5973 the core generates, each leaving no state behind (fake GIST). */
import type { PathCoupledMri, LooseEndMri, Mri } from '../../../gist/types';
import type { NatfwMsg, ResponseMsg } from '../../../natfw-nslp/core/messages';
import type { NatfwPolicy } from '../../../natfw-nslp/core/policy';
import type { SessionAuthorizer } from '../../../natfw-nslp/core/authorizer';
import { jsonCodec } from './json-codec';
import { FakeLab, lineLab } from './fake-lab';

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

const create = (over: Partial<Extract<NatfwMsg, { type: 'CREATE' }>> = {}): NatfwMsg => ({
  type: 'CREATE',
  proxy: false,
  edgeContinue: false,
  lifetime: 30,
  msn: 7,
  efi: { ruleAction: 1, subPorts: 0 },
  ...over,
});

let sidCounter = 1;

/** Sends raw NSLP bytes from the 'ni' host and returns the RESPONSEs that come back. */
async function raw(lab: FakeLab, msg: NatfwMsg | Uint8Array, mri: Mri = flow()): Promise<ResponseMsg[]> {
  const g = lab.net.byName('ni');
  if (g === undefined) throw new Error('no ni');
  const got: ResponseMsg[] = [];
  g.events.on('recvMessage', (ev) => {
    const m = jsonCodec.decode(ev.nslpData);
    if (m.ok && m.value.type === 'RESPONSE') got.push(m.value);
  });
  const sid = new Uint8Array(16);
  sid[0] = sidCounter++;
  g.sendMessage(lab.now, { nslpData: msg instanceof Uint8Array ? msg : jsonCodec.encode(msg), nslpId: 33, sessionId: sid, mri });
  await lab.runFor(200);
  return got;
}

const policy = (p: Partial<NatfwPolicy>): NatfwPolicy => ({ maxLifetime: 3600, minLifetime: 1, allowDeny: true, ...p });

function noState(lab: FakeLab): void {
  for (const n of lab.nodes.values()) {
    if (n.name === 'ni') continue;
    expect(n.node.sessionCount).toBe(0);
    expect(n.pinholes.list()).toHaveLength(0);
  }
}

// Every row has all six columns: jest passes `done` in place of a missing last argument.
type Case = [string, number, number, () => FakeLab, NatfwMsg | Uint8Array, Mri | undefined];

const cases: Case[] = [
  ['illegal message type (3/0x01)', 3, 0x01, () => lineLab(), new TextEncoder().encode('{"type":"BOGUS"}'), undefined],
  ['CREATE-PROXY without nonce (3/0x04)', 3, 0x04, () => lineLab(), create({ proxy: true }), undefined],
  ['unknown rule action (7/0x05)', 7, 0x05, () => lineLab(), create({ efi: { ruleAction: 3, subPorts: 0 } }), undefined],
  ['sub_ports other than 0/1 (7/0x08)', 7, 0x08, () => lineLab(), create({ efi: { ruleAction: 1, subPorts: 2 } }), undefined],
  ['protocol not supported (7/0x09)', 7, 0x09, () => lineLab({ nf: { policy: policy({ protocols: [6] }) } }), create(), undefined],
  ['plain IP rule (7/0x0A)', 7, 0x0a, () => lineLab(), create(), flow({ protocol: undefined, sourcePort: undefined, destinationPort: undefined })],
  ['ICMP type not permitted (7/0x0B)', 7, 0x0b, () => lineLab({ nf: { policy: policy({ icmpTypes: [0, 8] }) } }), create({ icmpTypes: [13] }), flow({ protocol: 1, sourcePort: undefined, destinationPort: undefined })],
  ['source range too large (7/0x0C)', 7, 0x0c, () => lineLab({ nf: { policy: policy({ minSrcPrefixLength: 24 }) } }), create(), flow({ sourcePrefix: 8 })],
  ['destination range too large (7/0x0D)', 7, 0x0d, () => lineLab({ nf: { policy: policy({ minDstPrefixLength: 32 }) } }), create(), flow({ destinationPrefix: 24 })],
  ['source port wildcard (7/0x0E)', 7, 0x0e, () => lineLab({ nf: { policy: policy({ requireSrcPort: true }) } }), create(), flow({ sourcePort: 0 })],
  ['destination port wildcard (7/0x0F)', 7, 0x0f, () => lineLab({ nf: { policy: policy({ requireDstPort: true }) } }), create(), flow({ destinationPort: undefined })],
  ['deny not allowed (7/0x06)', 7, 0x06, () => lineLab({ nf: { policy: policy({ allowDeny: false }) } }), create({ efi: { ruleAction: 2, subPorts: 0 } }), undefined],
  ['lifetime too small (7/0x10)', 7, 0x10, () => lineLab({ nf: { policy: policy({ minLifetime: 60 }) } }), create({ lifetime: 10 }), undefined],
  ['lifetime too big, rejecting policy (7/0x02)', 7, 0x02, () => lineLab({ nf: { policy: policy({ maxLifetime: 60, rejectTooBigLifetime: true }) } }), create({ lifetime: 600 }), undefined],
  ['destination not permitted by policy (5/0x02)', 5, 0x02, () => lineLab({ nf: { policy: policy({ destinations: [{ address: '198.18.200.0', length: 24 }] }) } }), create(), undefined],
  ['policy conflict with a static rule (7/0x04)', 7, 0x04, () => lineLab({ nf: { policy: policy({ protectedDestinations: [{ address: '198.18.3.0', length: 24 }] }) } }), create(), undefined],
  ['session limit (4/0x01)', 4, 0x01, () => lineLab({ nf: { policy: policy({ maxSessions: 0 }) } }), create(), undefined],
  [
    'authorizer refuses (5/0x02)',
    5,
    0x02,
    () => {
      const refuse: SessionAuthorizer = { authorize: () => ({ ok: false, reason: 'missing', responseClass: 5, responseCode: 2, message: 'no token' }) };
      return lineLab({ extra: { authorizer: refuse } });
    },
    create(),
    undefined,
  ],
  [
    'authentication fails (5/0x01)',
    5,
    0x01,
    () => {
      const refuse: SessionAuthorizer = { authorize: () => ({ ok: false, reason: 'bad-mac', responseClass: 5, responseCode: 1, message: 'bad MAC' }) };
      return lineLab({ extra: { authorizer: refuse } });
    },
    create(),
    undefined,
  ],
  [
    'no NR behind the last NF (5/0x07)',
    5,
    0x07,
    () => {
      const lab = lineLab();
      const base = lab.net.route;
      lab.net.route = (s, d) => base(s, d).filter((h) => h !== 'nr');
      return lab;
    },
    create(),
    undefined,
  ],
  ['EXTERNAL without NATFW_DTINFO (7/0x07)', 7, 0x07, () => natLab(), { ...create(), type: 'EXTERNAL' } as NatfwMsg, leToEdge()],
  ['EXTERNAL on the external side of a NAT (3/0x0B)', 3, 0x0b, () => natLab(), external(), { ...leToEdge(), sourceAddress: '198.18.50.9' }],
  ['EXTERNAL deny at a NAT (7/0x06)', 7, 0x06, () => natLab(), external({ efi: { ruleAction: 2, subPorts: 0 } }), leToEdge()],
  ['EXTERNAL reaching an end host (5/0x06)', 5, 0x06, () => lineLab(), external(), { ...leToEdge(), sourceAddress: '198.18.0.1', destinationAddress: '198.18.3.1' }],
  ['CREATE to a NAT without reservation (7/0x03)', 7, 0x03, () => natLab(true), create(), flow({ sourceAddress: '198.18.0.1', destinationAddress: '198.18.9.1', destinationPort: 45000 })],
];

function external(over: Partial<Extract<NatfwMsg, { type: 'EXTERNAL' }>> = {}): NatfwMsg {
  return {
    type: 'EXTERNAL',
    proxy: false,
    edgeContinue: false,
    lifetime: 30,
    msn: 9,
    efi: { ruleAction: 1, subPorts: 0 },
    dtinfo: { protocol: 17, drPort: 5004, dsPort: 0, senderPrefix: 0, senderAddress: '0.0.0.0' },
    ...over,
  };
}

function leToEdge(): LooseEndMri {
  return { mrm: 'loose-end', ipVersion: 4, sourceAddress: '198.18.0.1', destinationAddress: '198.18.3.1', direction: 'towards-edge' };
}

/** ni (private 198.18.0.0/24) - nat (edge, external 198.18.9.1) - nr. With `fromOutside` the NI stands outside. */
function natLab(fromOutside = false): FakeLab {
  const lab = new FakeLab();
  lab.add('ni', '198.18.0.1');
  lab.add('nat', '198.18.9.1', { kind: 'nat', edge: true, nat: { externalAddress: '198.18.9.1', internalPrefixes: [{ address: '198.18.0.0', length: 24 }] } });
  lab.add('nr', '198.18.3.1');
  void fromOutside;
  lab.net.route = (s, d) => {
    const known = ['198.18.0.1', '198.18.9.1', '198.18.3.1', '198.18.50.9'];
    if (!known.includes(s)) return [];
    return s === d ? ['ni'] : ['ni', 'nat', 'nr'];
  };
  return lab;
}

describe('error RESPONSEs (RFC 5973 s4.2.5), no half-installed state', () => {
  test.each(cases)('%s', async (_name, cls, code, mk, msg, mri) => {
    const lab = mk();
    const got = await raw(lab, msg, mri ?? flow());
    expect(got).toHaveLength(1);
    expect(got[0].info).toMatchObject({ responseClass: cls, responseCode: code });
    if (msg instanceof Uint8Array) expect(got[0].msn).toBe(0);
    else if (msg.type === 'CREATE' || msg.type === 'EXTERNAL') expect(got[0].msn).toBe(msg.msn);
    noState(lab);
  });

  test('a granted lifetime above what an NF accepted: 7/0x11 upstream with the limit, NOTIFY downstream', async () => {
    const lab = lineLab({ nf: { policy: policy({ maxLifetime: 20 }) } });
    // A misbehaving NR that grants more than it was asked.
    lab.get('nr').node.events.removeAllListeners();
    const nrGist = lab.net.byName('nr');
    nrGist?.events.removeAllListeners('recvMessage');
    nrGist?.events.on('recvMessage', (ev) => {
      const m = jsonCodec.decode(ev.nslpData);
      if (!m.ok || m.value.type !== 'CREATE') return;
      nrGist.sendMessage(ev.now, { nslpData: jsonCodec.encode({ type: 'RESPONSE', info: { responseClass: 2, responseCode: 1, objectType: 0 }, msn: m.value.msn, lifetime: 1000 }), nslpId: 33, sessionId: ev.sessionId, mri: { ...(ev.mri as PathCoupledMri), direction: 'upstream' }, siiHandle: ev.siiHandle });
    });
    const got = await raw(lab, create({ lifetime: 60 }));
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ info: { responseClass: 7, responseCode: 0x11 }, lifetime: 20 });
    noState(lab);
  });

  test('an error RESPONSE from downstream marks the session dead at every NF on the way back', async () => {
    const lab = lineLab();
    lab.get('nf2').node.config;
    const nrGist = lab.net.byName('nr');
    nrGist?.events.removeAllListeners('recvMessage');
    nrGist?.events.on('recvMessage', (ev) => {
      const m = jsonCodec.decode(ev.nslpData);
      if (!m.ok || m.value.type !== 'CREATE') return;
      nrGist.sendMessage(ev.now, { nslpData: jsonCodec.encode({ type: 'RESPONSE', info: { responseClass: 5, responseCode: 2, objectType: 0 }, msn: m.value.msn }), nslpId: 33, sessionId: ev.sessionId, mri: { ...(ev.mri as PathCoupledMri), direction: 'upstream' }, siiHandle: ev.siiHandle });
    });
    const got = await raw(lab, create());
    expect(got.map((r) => r.info.responseCode)).toEqual([2]);
    noState(lab);
  });
});
