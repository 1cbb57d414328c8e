/**
 * Every RFC 5971 Appendix A.4 error a node can be provoked into: a raw host X
 * (no GIST, it just sends crafted bytes and records what comes back) talks to
 * GIST node B; the reply must be an Error with the catalogue's class, code
 * and subcode, sent where s5.6 says (D-mode: to the NLI / IP source; C-mode:
 * back over the same connection), and never in answer to an Error.
 */
import {
  decodeGistDatagram,
  decodeGistMessage,
  encodeGistDatagram,
  encodeGistMessage,
  MessageType,
  type DataMessage,
  type GistMessage,
  type NetworkLayerInformation,
  type QueryMessage,
} from '../../../gist/codec';
import type {
  AcceptedStream,
  ConnId,
  DatagramDisposition,
  GistDriverFacing,
  InboundDatagram,
  Transmit,
} from '../../../gist/core/driver-api';
import type { Mri } from '../../../gist/types';
import { SeededRandom, VirtualNetwork } from '../../../sim/vnet';
import { addNode, bytes, flow, NSLP, sid, type TestNode } from './helpers';

const X = '198.18.9.9';
const B = '198.18.2.2';

class Raw implements GistDriverFacing {
  readonly listen = { udpPort: 4444, tcpPort: 1, qmodePort: 270 };
  readonly out: Transmit[] = [];
  readonly got: InboundDatagram[] = [];
  readonly stream: Uint8Array[] = [];
  opened = false;
  closed = false;
  handleDatagram(_now: number, dg: InboundDatagram): DatagramDisposition {
    this.got.push(dg);
    return { kind: 'consume' };
  }
  handleStreamAccepted(_now: number, _i: AcceptedStream): ConnId {
    return 999;
  }
  handleStreamOpened(): void {
    this.opened = true;
  }
  handleStreamData(_now: number, _id: ConnId, b: Uint8Array): void {
    this.stream.push(b);
  }
  handleStreamClosed(): void {
    this.closed = true;
  }
  handleTimeout(): void {}
  pollTransmit(): Transmit | undefined {
    return this.out.shift();
  }
  nextDeadline(): number | undefined {
    return undefined;
  }
}

function setup(cfg: Record<string, unknown> = {}) {
  const net = new VirtualNetwork({ seed: 11 });
  const rnd = new SeededRandom(11);
  net.addHost('X', [X]);
  net.addHost('R', ['198.18.2.1', '198.18.9.1']);
  net.addHost('B', [B]);
  net.link('X', 'R', { delayMs: 1 });
  net.link('R', 'B', { delayMs: 1 });
  const x = new Raw();
  net.attach('X', x);
  const r = addNode(net, rnd, 'R', ['198.18.2.1', '198.18.9.1'], cfg, []);
  const b = addNode(net, rnd, 'B', [B], cfg);
  return { net, rnd, x, r, b };
}

const nli = (addr = X, ipTtl = 0): NetworkLayerInformation => ({
  peerIdentity: bytes('peer-x'),
  ipTtl,
  ipVersion: 4,
  interfaceAddress: addr,
  routingStateValidityTime: 30000,
});

function header(type: GistMessage['type'], over: Partial<GistMessage['header']> = {}): GistMessage['header'] {
  return { version: 1, gistHopCount: 8, messageType: MessageType[type], nslpId: NSLP, cFlag: false, sFlag: true, rFlag: false, eFlag: false, ...over };
}

function query(rnd: SeededRandom, mri: Mri = flow(X, B), over: Partial<QueryMessage> = {}): QueryMessage {
  return {
    type: 'Query',
    header: header('Query', { cFlag: true, rFlag: true }),
    unknownObjects: [],
    mri,
    sessionId: sid(rnd),
    nli: nli(),
    queryCookie: rnd.bytes(8),
    nslpData: bytes('q'),
    ...over,
  };
}

function data(rnd: SeededRandom, over: Partial<DataMessage> = {}): DataMessage {
  return { type: 'Data', header: header('Data'), unknownObjects: [], mri: flow(X, B), sessionId: sid(rnd), nli: nli(), nslpData: bytes('d'), ...over };
}

function send(t: ReturnType<typeof setup>, payload: Uint8Array, opts: { routerAlert?: number; ttl?: number; dst?: string } = {}): void {
  t.x.out.push({
    kind: 'udp',
    source: { address: X, port: 4444 },
    destination: { address: opts.dst ?? B, port: 270 },
    ipVersion: 4,
    bytes: payload,
    qmode: opts.routerAlert !== undefined ? { routerAlert: opts.routerAlert, dontFragment: true, ipTtl: opts.ttl } : undefined,
  });
  t.net.pump('X');
  t.net.runFor(50);
}

/** The Error messages X received in D-mode. */
function errors(t: ReturnType<typeof setup>) {
  return t.x.got
    .map((g) => decodeGistDatagram(g.bytes))
    .filter((r) => r.ok && r.value.type === 'Error')
    .map((r) => {
      if (!r.ok || r.value.type !== 'Error') throw new Error('unreachable');
      const e = r.value.error;
      return { cls: e.errorClass, code: e.errorCode, sub: e.errorSubcode, e, msg: r.value };
    });
}

function expectOneError(t: ReturnType<typeof setup>, cls: number, code: number, sub: number) {
  const es = errors(t);
  expect(es.map((e) => [e.cls, e.code, e.sub])).toEqual([[cls, code, sub]]);
  // s5.6: NSLPID 0, and the NLI of the node that reports the error.
  expect(es[0].msg.header.nslpId).toBe(0);
  return es[0];
}

function patch(b: Uint8Array, at: number, f: (v: number) => number): Uint8Array {
  const c = b.slice();
  c[at] = f(c[at]);
  return c;
}

describe('Appendix A.4 error replies', () => {
  it('A.4.4.1 Common Header Parse Error: unknown version (0), unknown type (1), invalid R (2), length (3), E (4), C (5)', () => {
    const cases: [Uint8Array, number][] = [];
    const rnd = new SeededRandom(1);
    const d = encodeGistDatagram(data(rnd));
    cases.push([patch(d, 4, () => 2), 0]); // version 2
    cases.push([patch(d, 10, (v) => (v & 0x80) | 0x33), 1]); // type 0x33
    cases.push([patch(d, 11, (v) => v | 0x40), 2]); // R=1 on Data
    cases.push([patch(d, 7, (v) => v + 1), 3]); // Message Length off by one
    cases.push([patch(encodeGistDatagram(query(rnd)), 11, (v) => v | 0x20), 4]); // E=1 on a Query
    cases.push([patch(encodeGistDatagram(query(rnd)), 10, (v) => v & 0x7f), 5]); // C=0 on a Query
    for (const [bytesIn, sub] of cases) {
      const t = setup();
      send(t, bytesIn);
      const e = expectOneError(t, 2, 1, sub);
      // A.4.4.1: no MRI / SID for header errors.
      expect(e.e.mri).toBeUndefined();
      expect(e.e.sessionId).toBeUndefined();
      if (sub === 3) expect(e.e.additionalInfo).toEqual([expect.objectContaining({ kind: 'MessageLengthInfo' })]);
    }
  });

  it('A.4.4.2 Hop Limit Exceeded: a forwarding node that would send the Query on with hop count 0', () => {
    const t = setup();
    const q = query(t.rnd, flow(X, B), { header: header('Query', { cFlag: true, rFlag: true, gistHopCount: 1, nslpId: 77 }) });
    send(t, encodeGistDatagram(q), { routerAlert: 0 });
    expectOneError(t, 4, 2, 0);
    expect(t.b.node.stats.queriesReceived).toBe(0);
  });

  it('A.4.4.3 Incorrect Encapsulation: MA-Hello in D-mode, Query over an MA, Response in Q-mode', () => {
    const t = setup();
    const hello: GistMessage = { type: 'MA-Hello', header: header('MA-Hello', { nslpId: 0, sFlag: true }), unknownObjects: [], helloId: 0 };
    send(t, encodeGistDatagram(hello));
    expectOneError(t, 2, 3, 0);

    const t2 = setup();
    const resp: GistMessage = { type: 'Response', header: header('Response'), unknownObjects: [], mri: flow(B, X), sessionId: sid(t2.rnd), nli: nli(), queryCookie: t2.rnd.bytes(8) };
    send(t2, encodeGistDatagram(resp), { routerAlert: 65, dst: '198.18.5.5' });
    // The Response is intercepted by R (not ours to handle): R runs no NSLP and only forwards. Address it past B instead:
    t2.net.addHost('C', ['198.18.5.5']);
    t2.net.link('B', 'C');
    const before = errors(t2).length;
    t2.b.node.registerNslp(NSLP);
    send(t2, encodeGistDatagram(resp), { routerAlert: 65, dst: '198.18.5.5' });
    const es = errors(t2);
    expect(es.length).toBe(before + 1);
    expect([es.at(-1)!.cls, es.at(-1)!.code]).toEqual([2, 3]);
  });

  it('A.4.4.3 Incorrect Encapsulation over an MA: a Query arrives in C-mode, the Error comes back on the connection', () => {
    const t = setup();
    t.x.out.push({ kind: 'tcp-connect', connId: 1, remote: { address: B, port: t.b.node.listen.tcpPort } });
    t.net.pump('X');
    t.net.runFor(20);
    expect(t.x.opened).toBe(true);
    t.x.out.push({ kind: 'tcp-send', connId: 1, bytes: encodeGistMessage(query(t.rnd)) });
    t.net.pump('X');
    t.net.runFor(20);
    expect(t.x.stream).toHaveLength(1);
    const r = decodeGistMessage(t.x.stream[0]);
    expect(r.ok && r.value.type === 'Error' && [r.value.error.errorCode, r.value.error.errorSubcode, r.value.error.dMode]).toEqual([3, 0, false]);
  });

  it('A.4.4.4 Incorrectly Delivered Message: Data over an MA for a session whose state is D-mode', () => {
    const t = setup();
    // Give X real routing state at B: run a D-mode handshake by hand.
    const q = query(t.rnd);
    send(t, encodeGistDatagram(q), { routerAlert: 65 });
    const resp = t.x.got.map((g) => decodeGistDatagram(g.bytes)).find((r) => r.ok && r.value.type === 'Response');
    expect(resp?.ok).toBe(true);
    if (!resp?.ok || resp.value.type !== 'Response') return;
    const confirm: GistMessage = { type: 'Confirm', header: header('Confirm'), unknownObjects: [], mri: q.mri, sessionId: q.sessionId, nli: nli(), responderCookie: resp.value.responderCookie };
    send(t, encodeGistDatagram(confirm));
    expect(t.b.node.routingState(NSLP, { ...q.mri, direction: 'upstream' } as Mri, q.sessionId)?.phase).toBe('established');
    t.x.out.push({ kind: 'tcp-connect', connId: 1, remote: { address: B, port: t.b.node.listen.tcpPort } });
    t.net.pump('X');
    t.net.runFor(20);
    t.x.out.push({ kind: 'tcp-send', connId: 1, bytes: encodeGistMessage(data(t.rnd, { mri: q.mri, sessionId: q.sessionId, nli: undefined })) });
    t.net.pump('X');
    t.net.runFor(20);
    const r = decodeGistMessage(t.x.stream[0]);
    expect(r.ok && r.value.type === 'Error' && [r.value.error.errorClass, r.value.error.errorCode]).toEqual([2, 4]);
  });

  it('A.4.4.5 No Routing State: Data, and a Confirm without a cookie, for unknown state', () => {
    const t = setup();
    send(t, encodeGistDatagram(data(t.rnd)));
    const e = expectOneError(t, 2, 5, 0);
    expect(e.e.mri).toBeDefined();
    expect(e.e.sessionId).toBeDefined();
    expect(t.b.recv).toHaveLength(0);
    const t2 = setup();
    const confirm: GistMessage = { type: 'Confirm', header: header('Confirm'), unknownObjects: [], mri: flow(X, B), sessionId: sid(t2.rnd), nli: nli() };
    send(t2, encodeGistDatagram(confirm));
    expectOneError(t2, 2, 5, 0);
  });

  it('A.4.4.6 Unknown NSLPID: a directly addressed Data for an NSLP B does not run', () => {
    const t = setup();
    send(t, encodeGistDatagram(data(t.rnd, { header: header('Data', { nslpId: 99 }) })));
    expectOneError(t, 4, 6, 0);
  });

  it('A.4.4.7 Endpoint Found: a Query reaches a flow endpoint that does not run the NSLP', () => {
    const t = setup();
    send(t, encodeGistDatagram(query(t.rnd, flow(X, B), { header: header('Query', { cFlag: true, rFlag: true, nslpId: 99 }) })), { routerAlert: 0 });
    const e = expectOneError(t, 4, 7, 0);
    expect(e.e.qMode).toBe(true);
  });

  it('A.4.4.8 Message Too Large: a forwarding node with a small MTU', () => {
    const t = setup({ mtu: 120 });
    const q = query(t.rnd, flow(X, B), { header: header('Query', { cFlag: true, rFlag: true, nslpId: 77 }), nslpData: new Uint8Array(200) });
    send(t, encodeGistDatagram(q), { routerAlert: 0 });
    const e = expectOneError(t, 4, 8, 0);
    expect(e.e.additionalInfo).toEqual([{ kind: 'MtuInfo', linkMtu: 120 }]);
  });

  it('A.4.4.9 Object Type Error: duplicate (0), unrecognised AB=00 (1), missing (2), invalid for the type (3), AB=11 (5)', () => {
    const rnd = new SeededRandom(2);
    const d = encodeGistDatagram(data(rnd));
    // Objects of the Data message start at 4 (magic) + 8 (header): MRI, SID, NLI, NSLP-Data.
    const firstLen = 4 + (((d[14] & 0x0f) << 8) | d[15]) * 4;
    const mriObj = d.slice(12, 12 + firstLen);
    const withObj = (obj: Uint8Array, at = 12): Uint8Array => {
      const out = new Uint8Array(d.length + obj.length);
      out.set(d.subarray(0, at));
      out.set(obj, at);
      out.set(d.subarray(at), at + obj.length);
      const words = ((out[6] << 8) | out[7]) + obj.length / 4;
      out[6] = words >> 8;
      out[7] = words & 0xff;
      return out;
    };
    const unknownMandatory = new Uint8Array([0x00, 0x77, 0x00, 0x01, 1, 2, 3, 4]);
    const reservedAb = new Uint8Array([0xc0, 0x77, 0x00, 0x01, 1, 2, 3, 4]);
    const cookie = new Uint8Array([0x00, 0x05, 0x00, 0x01, 1, 2, 3, 4]); // Query-Cookie in a Data
    const noNslpData = (() => {
      const m = data(rnd);
      const full = encodeGistDatagram(m);
      const nslpLen = 4 + 4;
      const out = full.slice(0, full.length - nslpLen);
      const words = ((out[6] << 8) | out[7]) - nslpLen / 4;
      out[6] = words >> 8;
      out[7] = words & 0xff;
      return out;
    })();
    const cases: [Uint8Array, number][] = [
      [withObj(mriObj), 0],
      [withObj(unknownMandatory, 12 + firstLen), 1],
      [noNslpData, 2],
      [withObj(cookie, d.length), 3],
      [withObj(reservedAb, 12 + firstLen), 5],
    ];
    for (const [b, sub] of cases) {
      const t = setup();
      send(t, b);
      const e = expectOneError(t, 2, 9, sub);
      expect(e.e.additionalInfo).toEqual([expect.objectContaining({ kind: 'ObjectTypeInfo' })]);
    }
  });

  it('A.4.4.9 Missing Object: the first Confirm on a new MA without its Stack-Configuration-Data', () => {
    const t = setup();
    const q = query(t.rnd, flow(X, B), {
      stackProposal: { profiles: [[1]] },
      stackConfigurationData: { maHoldTime: 30000, maProtocolOptions: [{ maProtocolId: 1, profile: 0, doNotUse: false, data: new Uint8Array(0) }] },
    });
    send(t, encodeGistDatagram(q), { routerAlert: 65 });
    const resp = t.x.got.map((g) => decodeGistDatagram(g.bytes)).find((r) => r.ok && r.value.type === 'Response');
    if (!resp?.ok || resp.value.type !== 'Response') throw new Error('no Response');
    expect(resp.value.stackProposal).toBeDefined();
    t.x.out.push({ kind: 'tcp-connect', connId: 1, remote: { address: B, port: t.b.node.listen.tcpPort } });
    t.net.pump('X');
    t.net.runFor(20);
    const confirm: GistMessage = {
      type: 'Confirm',
      header: header('Confirm'),
      unknownObjects: [],
      mri: q.mri,
      sessionId: q.sessionId,
      nli: nli(),
      responderCookie: resp.value.responderCookie,
      stackProposal: resp.value.stackProposal,
    };
    t.x.out.push({ kind: 'tcp-send', connId: 1, bytes: encodeGistMessage(confirm) });
    t.net.pump('X');
    t.net.runFor(20);
    const r = decodeGistMessage(t.x.stream[0]);
    expect(r.ok && r.value.type === 'Error' && [r.value.error.errorCode, r.value.error.errorSubcode, r.value.error.additionalInfo]).toEqual([
      9,
      2,
      [{ kind: 'ObjectTypeInfo', objectType: 4 }],
    ]);
  });

  it('A.4.4.10 Object Value Error: incorrect length (0), value not supported (1), flag-field (2), empty list (3), invalid cookie (4)', () => {
    const rnd = new SeededRandom(3);
    // (0): an NLI whose PI-Length points beyond the object.
    const d = encodeGistDatagram(data(rnd));
    const firstLen = 4 + (((d[14] & 0x0f) << 8) | d[15]) * 4;
    const sidLen = 4 + 16;
    const nliAt = 12 + firstLen + sidLen;
    const badLen = patch(d, nliAt + 4, () => 200);
    // (1): NLI validity time 0 (reserved).
    const zeroValidity = encodeGistDatagram(data(rnd, { nli: { ...nli(), routingStateValidityTime: 1 } }));
    const v0 = zeroValidity.slice();
    v0.fill(0, nliAt + 8, nliAt + 12); // A.3.3: the validity time is the word after PI-Length/IP-TTL/IP-Ver
    // (2): path-coupled MRI with S (SPI) set but no P (protocol).
    const mri = patch(d, 12 + 4 + 2, (v) => (v & ~0x08) | 0x01);
    const cases: [Uint8Array, number][] = [
      [badLen, 0],
      [v0, 1],
    ];
    for (const [b, sub] of cases) {
      const t = setup();
      send(t, b);
      const e = expectOneError(t, 2, 10, sub);
      expect(e.e.additionalInfo[0]).toEqual(expect.objectContaining({ kind: 'ObjectValueInfo' }));
    }
    const t2 = setup();
    send(t2, mri);
    const es = errors(t2);
    expect(es).toHaveLength(1);
    expect([es[0].code, es[0].sub]).toEqual([10, 2]);

    // (3): a Stack-Proposal with a zero-length profile.
    const t3 = setup();
    const q = encodeGistDatagram(
      query(t3.rnd, flow(X, B), {
        stackProposal: { profiles: [[1]] },
        stackConfigurationData: { maHoldTime: 30000, maProtocolOptions: [] },
        nslpData: undefined,
      }),
    );
    // The Stack-Proposal follows the 12-byte Query-Cookie: find it by type 3.
    let at = 12;
    while (at < q.length && (((q[at] & 0x0f) << 8) | q[at + 1]) !== 3) at += 4 + (((q[at + 2] & 0x0f) << 8) | q[at + 3]) * 4;
    const emptyProfile = patch(q, at + 4 + 4, () => 0);
    send(t3, emptyProfile, { routerAlert: 65 });
    const e3 = errors(t3);
    expect(e3.map((e) => [e.code, e.sub])).toEqual([[10, 3]]);

    // (4): a Confirm with a forged Responder-Cookie.
    const t4 = setup();
    const forged: GistMessage = { type: 'Confirm', header: header('Confirm'), unknownObjects: [], mri: flow(X, B), sessionId: sid(t4.rnd), nli: nli(), responderCookie: t4.rnd.bytes(20) };
    send(t4, encodeGistDatagram(forged));
    const e4 = expectOneError(t4, 2, 10, 4);
    expect(e4.e.additionalInfo).toEqual([expect.objectContaining({ kind: 'ObjectValueInfo' })]);
    expect(t4.b.node.routingStateCount).toBe(0);
  });

  it('A.4.4.11 Invalid IP-Layer TTL: an upstream Query that travelled more than one IP hop', () => {
    const t = setup();
    const q = query(t.rnd, { ...flow(B, X), direction: 'upstream' });
    send(t, encodeGistDatagram(q), { routerAlert: 65, ttl: 255 }); // one hop through R: arrives with 254... and then B is 2 hops away
    const t2 = setup();
    send(t2, encodeGistDatagram(query(t2.rnd, { ...flow(B, X), direction: 'upstream' })), { routerAlert: 65, ttl: 64 });
    expectOneError(t2, 4, 11, 0);
    expect(errors(t).length).toBe(0); // 255 - 1 hop = 254 is still acceptable
  });

  it('A.4.4.12 MRI Validation Failure: too wild (0), IP version mismatch (1), ingress filter (2)', () => {
    // (0) a node that declines to peer must forward: a /8 destination cannot go down one path.
    const t = setup();
    t.r.node.registerNslp(NSLP);
    t.r.peering = () => ({ accept: false });
    send(t, encodeGistDatagram(query(t.rnd, flow(X, B, { destinationPrefix: 8 }))), { routerAlert: 65 });
    const e0 = expectOneError(t, 4, 12, 0);
    expect(e0.e.additionalInfo).toEqual([expect.objectContaining({ kind: 'ObjectValueInfo' })]);
    // (1) an IPv6 MRI in an IPv4 Query.
    const t1 = setup();
    send(t1, encodeGistDatagram(query(t1.rnd, flow('2001:db8::9', '2001:db8::2'))), { routerAlert: 65 });
    expectOneError(t1, 4, 12, 1);
    // (2) the node's ingress filter refuses the flow source.
    const t2 = setup({ ingressFilter: (src: string) => !src.startsWith('198.18.9.') });
    send(t2, encodeGistDatagram(query(t2.rnd)), { routerAlert: 65 });
    expectOneError(t2, 4, 12, 2);
  });

  it('never answers an Error with an Error, and garbage without the magic number is dropped silently', () => {
    const t = setup();
    send(t, encodeGistDatagram(data(t.rnd)));
    const err = t.x.got[0];
    send(t, patch(err.bytes, 4, () => 7)); // a broken Error message (version 7)
    send(t, err.bytes); // an Error about state B does not have
    send(t, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]));
    expect(t.x.got).toHaveLength(1);
  });
});

export type { TestNode };
