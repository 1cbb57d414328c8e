/**
 * Builds the sample captures bundled in `samples/` from the project's own
 * codecs and pcap writer (no other implementation was involved):
 * - handshake.pcap: IPv4, raw IP, pure D-mode. A Q-mode Query with the
 *   Router Alert option (value 65, NATFW's, RFC 5973 s7.5), the Response,
 *   the Confirm, then D-mode Data carrying a NATFW CREATE and Data carrying
 *   its RESPONSE.
 * - cmode.pcap: IPv6 over Ethernet, nanosecond timestamps. A Q-mode Query
 *   (Hop-by-Hop Router Alert 68) proposing Forwards-TCP, a Response
 *   announcing the TCP port in its Stack-Configuration-Data, then a TCP
 *   connection carrying the Confirm, a Data with a CREATE that has a
 *   SESSION_AUTH object, and a Data with the RESPONSE, cut into small TCP
 *   segments (C-mode, RFC 5971 s5.4).
 * Deterministic: the same bytes every time (test/capture/samples.test.ts
 * checks the committed files). Regenerate them with
 * `NATFW_WRITE_SAMPLES=1 npx jest test/capture/samples.test.ts`.
 */
import { PcapWriter, synthesizeUdp, TcpConversation } from '../gist/capture';
import { encodeGistDatagram, encodeGistMessage, forwardsTcpOptions, GIST_PORT, MessageType, type GistMessage } from '../gist/codec';
import type { PathCoupledMri } from '../gist/types';
import { encodeNatfwMessage, NATFW_NSLPID, NATFW_RAO_IPV4, NATFW_RAO_IPV6, NatfwMessageType, type NatfwMessage } from '../natfw-nslp/codec';

/** 2026-01-01T00:00:00Z, so the samples show a plausible date. */
const T0 = 1767225600000;

function header(type: keyof typeof MessageType, over: Partial<GistMessage['header']> = {}): GistMessage['header'] {
  return { version: 1, gistHopCount: 16, messageType: MessageType[type], nslpId: NATFW_NSLPID, cFlag: false, sFlag: true, rFlag: false, eFlag: false, ...over };
}

const natfwHeader = (type: keyof typeof NatfwMessageType): NatfwMessage['header'] => ({ messageType: NatfwMessageType[type], proxy: false, edge: false });

function create(): NatfwMessage {
  return { type: 'CREATE', header: natfwHeader('CREATE'), lifetime: 30, efi: { ruleAction: 'allow', subPorts: 0 }, msn: 1, sessionAuth: [], unknownObjects: [] };
}

function response(): NatfwMessage {
  // RFC 5973 s4.2.5: class 2 (Success), code 0x01 "All successfully processed".
  return { type: 'RESPONSE', header: natfwHeader('RESPONSE'), msn: 1, info: { responseClass: 2, responseCode: 1, objectType: 0 }, lifetime: 30, sessionAuth: [], unknownObjects: [] };
}

/** A CREATE with an HMAC_SIGNED SESSION_AUTH object (RFC 5981 s3.2, s4.1.1); the MAC is a placeholder, not a real signature. */
function createWithAuth(): NatfwMessage {
  return {
    ...create(),
    sessionAuth: [
      {
        attributes: [
          { xType: 'AUTH_ENT_ID', subType: 'HMAC_SIGNED', transformId: 12 },
          { xType: 'START_TIME', subType: 'NTP_TIMESTAMP', seconds: 3976214400, fraction: 0 },
          { xType: 'END_TIME', subType: 'NTP_TIMESTAMP', seconds: 3976218000, fraction: 0 },
          { xType: 'NSLP_OBJECT_LIST', objectTypes: [0x00c, 0x00f, 0x012] },
          // Key-ID 1, then a 16-octet MAC (HMAC-SHA-256-128)
          { xType: 'AUTHENTICATION_DATA', data: new Uint8Array([0, 0, 0, 1, ...new Uint8Array(16).fill(0xab)]) },
        ],
      },
    ],
  };
}

interface Nli {
  peerIdentity: Uint8Array;
  ipTtl: number;
  ipVersion: 4 | 6;
  interfaceAddress: string;
  routingStateValidityTime: number;
}

const nli = (id: number, ipVersion: 4 | 6, interfaceAddress: string): Nli => ({
  peerIdentity: Uint8Array.of(0x6e, 0x61, 0x74, id),
  ipTtl: 64,
  ipVersion,
  interfaceAddress,
  routingStateValidityTime: 30000,
});

export function handshakeSample(): Uint8Array {
  const ni = '198.18.0.1';
  const nf = '198.18.0.254';
  const nr = '198.19.0.2';
  const niPort = 40000;
  const sid = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
  const mri: PathCoupledMri = {
    mrm: 'path-coupled',
    ipVersion: 4,
    sourceAddress: ni,
    destinationAddress: nr,
    sourcePrefix: 32,
    destinationPrefix: 32,
    protocol: 17,
    sourcePort: 5004,
    destinationPort: 5006,
    direction: 'downstream',
  };
  const up: PathCoupledMri = { ...mri, direction: 'upstream' };
  const niNli = nli(1, 4, ni);
  const nfNli = nli(2, 4, nf);
  const queryCookie = Uint8Array.from({ length: 16 }, (_, i) => (i * 17) & 0xff);
  const responderCookie = Uint8Array.from({ length: 16 }, (_, i) => 0xc0 ^ i);
  const packets: Array<{ at: number; src: string; dst: string; sport: number; dport: number; ra?: number; msg: GistMessage }> = [
    // Q-mode: addressed to the flow's destination with the Router Alert, intercepted on the path (RFC 5971 s5.3.2).
    { at: 0, src: ni, dst: nr, sport: niPort, dport: GIST_PORT, ra: NATFW_RAO_IPV4, msg: { type: 'Query', header: header('Query', { sFlag: false, rFlag: true, cFlag: true }), unknownObjects: [], mri, sessionId: sid, nli: niNli, queryCookie } },
    // Normal D-mode encapsulation, ports swapped for the reply (s5.3.1).
    { at: 3.2, src: nf, dst: ni, sport: GIST_PORT, dport: niPort, msg: { type: 'Response', header: header('Response', { rFlag: true }), unknownObjects: [], mri: up, sessionId: sid, nli: nfNli, queryCookie, responderCookie } },
    { at: 3.9, src: ni, dst: nf, sport: niPort, dport: GIST_PORT, msg: { type: 'Confirm', header: header('Confirm'), unknownObjects: [], mri, sessionId: sid, nli: niNli, responderCookie } },
    // s5.1: NLI MUST be carried in D-mode Data (and MUST NOT in C-mode).
    { at: 4.1, src: ni, dst: nf, sport: niPort, dport: GIST_PORT, msg: { type: 'Data', header: header('Data'), unknownObjects: [], mri, sessionId: sid, nli: niNli, nslpData: encodeNatfwMessage(create()) } },
    { at: 9.6, src: nf, dst: ni, sport: GIST_PORT, dport: niPort, msg: { type: 'Data', header: header('Data'), unknownObjects: [], mri: up, sessionId: sid, nli: nfNli, nslpData: encodeNatfwMessage(response()) } },
  ];
  const w = new PcapWriter({ linkType: 'raw' });
  packets.forEach((p, i) =>
    w.addMs(T0 + p.at, synthesizeUdp({ src: p.src, dst: p.dst, srcPort: p.sport, dstPort: p.dport, payload: encodeGistDatagram(p.msg), routerAlert: p.ra, id: i + 1 })),
  );
  return w.finish();
}

export function cmodeSample(): Uint8Array {
  const ni = '2001:db8:1::1';
  const nf = '2001:db8:1::fe';
  const nr = '2001:db8:2::2';
  const niPort = 40002;
  const tcpPort = 30270;
  const sid = Uint8Array.from({ length: 16 }, (_, i) => 0xb0 + i);
  const mri: PathCoupledMri = {
    mrm: 'path-coupled',
    ipVersion: 6,
    sourceAddress: ni,
    destinationAddress: nr,
    sourcePrefix: 128,
    destinationPrefix: 128,
    protocol: 6,
    sourcePort: 50000,
    destinationPort: 443,
    direction: 'downstream',
  };
  const up: PathCoupledMri = { ...mri, direction: 'upstream' };
  const niNli = nli(3, 6, ni);
  const nfNli = nli(4, 6, nf);
  const queryCookie = Uint8Array.from({ length: 16 }, (_, i) => 0x30 + i);
  const responderCookie = Uint8Array.from({ length: 16 }, (_, i) => 0x60 + i);
  const stackProposal = { profiles: [[1]] }; // one profile: Forwards-TCP (MA-Protocol-ID 1)
  const w = new PcapWriter({ linkType: 'ethernet', nanosecond: true });
  let t = T0;
  const query: GistMessage = {
    type: 'Query',
    header: header('Query', { sFlag: false, rFlag: true, cFlag: true }),
    unknownObjects: [],
    mri,
    sessionId: sid,
    nli: niNli,
    queryCookie,
    stackProposal,
    // s5.7.2: in a Query the Forwards-TCP options carry no data.
    stackConfigurationData: { maHoldTime: 30000, maProtocolOptions: [{ maProtocolId: 1, profile: 1, doNotUse: false, data: new Uint8Array(0) }] },
  };
  w.addMs(t, synthesizeUdp({ src: ni, dst: nr, srcPort: niPort, dstPort: GIST_PORT, payload: encodeGistDatagram(query), routerAlert: NATFW_RAO_IPV6 }));
  const resp: GistMessage = {
    type: 'Response',
    header: header('Response', { rFlag: true }),
    unknownObjects: [],
    mri: up,
    sessionId: sid,
    nli: nfNli,
    queryCookie,
    responderCookie,
    stackProposal,
    // s5.7.2: in a Response, the port at which the connection will be accepted.
    stackConfigurationData: { maHoldTime: 30000, maProtocolOptions: [forwardsTcpOptions(tcpPort, 1)] },
  };
  w.addMs((t += 2.5), synthesizeUdp({ src: nf, dst: ni, srcPort: GIST_PORT, dstPort: niPort, payload: encodeGistDatagram(resp) }));
  const tcp = new TcpConversation({ address: ni, port: 51000 }, { address: nf, port: tcpPort }, { clientIsn: 0x10000000, serverIsn: 0x20000000, mss: 64 });
  for (const p of tcp.handshake()) w.addMs((t += 0.4), p);
  const confirm: GistMessage = {
    type: 'Confirm',
    header: header('Confirm'),
    unknownObjects: [],
    mri,
    sessionId: sid,
    nli: niNli,
    responderCookie,
    stackProposal,
    stackConfigurationData: { maHoldTime: 30000, maProtocolOptions: [] },
  };
  const dataCreate: GistMessage = { type: 'Data', header: header('Data'), unknownObjects: [], mri, sessionId: sid, nslpData: encodeNatfwMessage(createWithAuth()) };
  // Confirm and Data in one write: the C-mode framing, not the TCP segments, separates them.
  const upBytes = new Uint8Array([...encodeGistMessage(confirm), ...encodeGistMessage(dataCreate)]);
  for (const p of tcp.send('client', upBytes)) w.addMs((t += 0.3), p);
  const dataResponse: GistMessage = { type: 'Data', header: header('Data'), unknownObjects: [], mri: up, sessionId: sid, nslpData: encodeNatfwMessage(response()) };
  for (const p of tcp.send('server', encodeGistMessage(dataResponse))) w.addMs((t += 4.8), p);
  return w.finish();
}

export function makeSamples(): Record<string, Uint8Array> {
  return { 'handshake.pcap': handshakeSample(), 'cmode.pcap': cmodeSample() };
}
