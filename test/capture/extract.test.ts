import fc from 'fast-check';
import {
  extractGist,
  PcapWriter,
  readCapture,
  synthesizeTcpSegment,
  synthesizeUdp,
  TcpConversation,
  type CapturedFrame,
  type GistCaptureItem,
} from '../../gist/capture';
import { encodeGistDatagram, encodeGistMessage, forwardsTcpOptions, MessageType, type GistMessage } from '../../gist/codec';
import type { PathCoupledMri } from '../../gist/types';

const mri: PathCoupledMri = {
  mrm: 'path-coupled',
  ipVersion: 4,
  sourceAddress: '198.18.0.1',
  destinationAddress: '198.19.0.2',
  sourcePrefix: 32,
  destinationPrefix: 32,
  direction: 'downstream',
};
const sid = new Uint8Array(16).fill(7);
// R=1 on Query and on a Response that carries a Responder-Cookie (RFC 5971 A.1, s5.1).
const hdr = (t: keyof typeof MessageType, c = false): GistMessage['header'] => ({ version: 1, gistHopCount: 8, messageType: MessageType[t], nslpId: 99, cFlag: c, sFlag: true, rFlag: t === 'Query' || t === 'Response', eFlag: false });
const nli = (addr: string) => ({ peerIdentity: Uint8Array.of(1, 2, 3, 4), ipTtl: 64, ipVersion: 4 as const, interfaceAddress: addr, routingStateValidityTime: 30000 });
const data = (n: number, withNli = false): GistMessage => ({
  type: 'Data',
  header: hdr('Data'),
  unknownObjects: [],
  mri,
  sessionId: sid,
  ...(withNli ? { nli: nli('198.18.0.1') } : {}),
  nslpData: Uint8Array.from({ length: 8 * n }, (_, i) => i & 0xff),
});
const response = (port: number): GistMessage => ({
  type: 'Response',
  header: hdr('Response'),
  unknownObjects: [],
  mri: { ...mri, direction: 'upstream' },
  sessionId: sid,
  nli: nli('198.18.0.254'),
  queryCookie: new Uint8Array(8).fill(1),
  responderCookie: new Uint8Array(8).fill(2),
  stackProposal: { profiles: [[1]] },
  stackConfigurationData: { maHoldTime: 30000, maProtocolOptions: [forwardsTcpOptions(port, 1)] },
});

function frames(packets: Uint8Array[]): CapturedFrame[] {
  const w = new PcapWriter();
  packets.forEach((p, i) => w.addMs(1000 + i, p));
  const r = readCapture(w.finish());
  if (!r.ok) throw new Error(r.error.message);
  return r.value.frames;
}

const messages = (items: GistCaptureItem[]): string[] =>
  // errors show their message, so a failing expectation says why
 
  items.map((i) => (i.kind === 'message' ? `${i.ctx.frame.number}:${i.ctx.mode}:${i.message.type}:${i.message.type === 'Data' ? i.message.nslpData.length : ''}` : i.kind === 'gist-error' ? `gist-error: ${i.error.message}` : i.kind));

/** A Response announcing TCP port 30000 at 198.18.0.254, then a C-mode stream with two Data messages cut into 16-byte segments. */
function cmodePackets(): { announce: Uint8Array; segs: Uint8Array[] } {
  const announce = synthesizeUdp({ src: '198.18.0.254', dst: '198.18.0.1', srcPort: 270, dstPort: 40000, payload: encodeGistDatagram(response(30000)) });
  const c = new TcpConversation({ address: '198.18.0.1', port: 45000 }, { address: '198.18.0.254', port: 30000 }, { mss: 16 });
  const stream = new Uint8Array([...encodeGistMessage(data(2)), ...encodeGistMessage(data(3))]);
  const segs = [...c.handshake(), ...c.send('client', stream).slice(0, -1)];
  return { announce, segs };
}

describe('extractGist', () => {
  it('decodes Q-mode and D-mode datagrams and reports the Router Alert', () => {
    const q: GistMessage = { type: 'Query', header: hdr('Query', true), unknownObjects: [], mri, sessionId: sid, nli: nli('198.18.0.1'), queryCookie: new Uint8Array(8) };
    const items = extractGist(
      frames([
        synthesizeUdp({ src: '198.18.0.1', dst: '198.19.0.2', srcPort: 40000, dstPort: 270, payload: encodeGistDatagram(q), routerAlert: 65 }),
        synthesizeUdp({ src: '198.18.0.1', dst: '198.18.0.254', srcPort: 40000, dstPort: 270, payload: encodeGistDatagram(data(1, true)) }),
        synthesizeUdp({ src: '198.18.0.1', dst: '198.18.0.254', srcPort: 1, dstPort: 53, payload: Uint8Array.of(1, 2, 3, 4) }),
      ]),
    );
    expect(messages(items)).toEqual(['1:Q:Query:', '2:D:Data:8']);
    const first = items[0];
    expect(first.kind === 'message' && first.ctx).toMatchObject({ routerAlert: 65, src: '198.18.0.1', dstPort: 270, detectedBy: 'port-270' });
  });

  it('finds D-mode on other ports by the magic number, and reports undecodable GIST with the offset in the frame', () => {
    const good = synthesizeUdp({ src: '198.18.0.1', dst: '198.18.0.9', srcPort: 3000, dstPort: 4000, payload: encodeGistDatagram(data(1, true)) });
    const badPayload = encodeGistDatagram(data(1, true)).slice(0, 20);
    const bad = synthesizeUdp({ src: '198.18.0.1', dst: '198.18.0.9', srcPort: 3000, dstPort: 4000, payload: badPayload });
    const items = extractGist(frames([good, bad]));
    expect(items.map((i) => i.kind)).toEqual(['message', 'gist-error']);
    const e = items[1];
    if (e.kind !== 'gist-error') throw new Error('no error');
    expect(e.ctx.detectedBy).toBe('announced-endpoint');
    expect(e.ctx.frameOffset).toBe(28);
    expect(e.error.offset).toBeGreaterThanOrEqual(4);
    expect(e.error.offset).toBeLessThanOrEqual(20);
  });

  it('reassembles a C-mode stream announced by a Response and splits it by GIST framing', () => {
    const { announce, segs } = cmodePackets();
    const items = extractGist(frames([announce, ...segs]));
    const seen = messages(items);
    expect(seen[0]).toBe('1:D:Response:');
    expect(seen.slice(1).map((s) => s.replace(/^\d+:/, ''))).toEqual(['C:Data:16', 'C:Data:24']);
  });

  it('ignores the TCP flow without the announcement, unless its port is given', () => {
    const { segs } = cmodePackets();
    expect(extractGist(frames(segs))).toEqual([]);
    expect(messages(extractGist(frames(segs), { tcpPorts: [30000] })).map((s) => s.replace(/^\d+:/, ''))).toEqual(['C:Data:16', 'C:Data:24']);
  });

  it('survives out-of-order and retransmitted segments', () => {
    const { announce, segs } = cmodePackets();
    const data = segs.slice(3);
    // swap neighbours, and send the third segment twice
    const shuffled = [data[1], data[0], data[3], data[2], data[2], ...data.slice(4)];
    const items = extractGist(frames([announce, ...segs.slice(0, 3), ...shuffled]));
    expect(messages(items).slice(1).map((s) => s.replace(/^\d+:/, ''))).toEqual(['C:Data:16', 'C:Data:24']);
  });

  it('says when a segment was never captured and when a stream ends inside a message', () => {
    const { announce, segs } = cmodePackets();
    const lost = [...segs.slice(0, 4), ...segs.slice(5)];
    const items = extractGist(frames([announce, ...lost]), {});
    // The hole never fills in a short capture: the stream stops at it.
    expect(items.filter((i) => i.kind === 'message')).toHaveLength(1);
    const cut = extractGist(frames([announce, ...segs.slice(0, -2)]));
    const note = cut.find((i) => i.kind === 'note');
    expect(note && note.kind === 'note' && note.note).toMatch(/incomplete message/);
  });

  it('reports a gap once the reassembly window gives up the hole', () => {
    const announce = synthesizeUdp({ src: '198.18.0.254', dst: '198.18.0.1', srcPort: 270, dstPort: 40000, payload: encodeGistDatagram(response(30000)) });
    const seg = (seq: number, len: number): Uint8Array =>
      synthesizeTcpSegment({ src: '198.18.0.1', dst: '198.18.0.254', srcPort: 45000, dstPort: 30000, seq, ack: 1, flags: { ack: true }, payload: new Uint8Array(len) });
    const syn = synthesizeTcpSegment({ src: '198.18.0.1', dst: '198.18.0.254', srcPort: 45000, dstPort: 30000, seq: 0, ack: 0, flags: { syn: true } });
    // bytes 1..100 are lost; then more than the window (1 MiB) arrives behind the hole
    const after: Uint8Array[] = [];
    for (let i = 0; i < 20; i++) after.push(seg(101 + i * 60000, 60000));
    const items = extractGist(frames([announce, syn, ...after]));
    const notes = items.filter((i) => i.kind === 'note');
    expect(notes).toHaveLength(1);
    expect(notes[0].kind === 'note' && notes[0].note).toMatch(/100 bytes of this TCP direction were never captured/);
  });

  it('gives up a stream that is not GIST after a few errors', () => {
    const c = new TcpConversation({ address: '198.18.0.1', port: 45000 }, { address: '198.18.0.254', port: 30000 });
    const junk = new Uint8Array(400).fill(0x01); // common headers with message length 0x0101 words: never complete
    const zero = new Uint8Array(400); // 8-byte "messages" of length 0: each an error
    const items = extractGist(frames([...c.handshake(), ...c.send('client', zero), ...c.send('client', junk)]), { tcpPorts: [30000], maxStreamErrors: 4 });
    expect(items.filter((i) => i.kind === 'gist-error')).toHaveLength(4);
    expect(items.filter((i) => i.kind === 'note')).toHaveLength(1);
  });

  it('never throws on mutated captures and stays bounded', () => {
    const { announce, segs } = cmodePackets();
    const w = new PcapWriter({ linkType: 'ethernet' });
    [announce, ...segs].forEach((p, i) => w.addMs(i, p));
    const base = w.finish();
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), fc.nat(), (edits, cut) => {
        const b = base.slice(0, Math.max(24, base.length - (cut % 64)));
        for (const [at, v] of edits) b[24 + (at % (b.length - 24))] = v;
        const r = readCapture(b);
        if (r.ok) extractGist(r.value.frames);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('extractGist on frames it cannot read', () => {
  it('reports an unsupported link type once, and a malformed IP header per frame', () => {
    const f = (n: number, linkType: number, data: Uint8Array): CapturedFrame => ({ number: n, timestamp: { sec: 0, nsec: 0 }, linkType, interfaceId: 0, data, originalLength: data.length, fileOffset: 0 });
    const items = extractGist([f(1, 105, new Uint8Array(40)), f(2, 105, new Uint8Array(40)), f(3, 101, Uint8Array.of(0x45, 0, 0)), f(4, 101, Uint8Array.of(0x45, 0, 0))]);
    expect(items.map((i) => (i.kind === 'frame-error' ? `${i.frame.number}:${i.error.code}` : i.kind))).toEqual(['1:LINK_UNSUPPORTED', '3:IP_TRUNCATED', '4:IP_TRUNCATED']);
  });
});

describe('extractGist and IP fragments', () => {
  it('notes a first fragment of a GIST datagram, and the fragments of a Router Alert packet, without decoding them', () => {
    const whole = synthesizeUdp({ src: '198.18.0.1', dst: '198.18.0.2', srcPort: 40000, dstPort: 270, payload: encodeGistDatagram(data(1, true)) });
    const first = whole.slice(0, 20 + 8 + 16);
    first[2] = 0;
    first[3] = first.length; // total length of the fragment
    first[6] = 0x20; // MF, offset 0
    const other = synthesizeUdp({ src: '198.18.0.1', dst: '198.18.0.2', srcPort: 1, dstPort: 53, payload: new Uint8Array(16) }).slice(0, 44);
    other[2] = 0;
    other[3] = 44;
    other[6] = 0x20;
    const items = extractGist(frames([first, other]));
    expect(items).toHaveLength(1);
    expect(items[0].kind === 'note' && items[0].note).toMatch(/fragment of a GIST datagram .* not reassembled/);
  });
});
