/**
 * Finds the GIST messages in a capture, as a packet analyser does:
 * - UDP to or from port 270 (RFC 5971 s5.3.2: Q-mode and the D-mode replies
 *   with swapped ports), reporting the Router Alert value when present;
 * - other UDP between endpoints that GIST traffic in the same capture used,
 *   and any UDP payload that begins with the GIST magic number (s5.3.1);
 * - TCP flows to an address/port that a Response announced (NLI interface
 *   address + the Forwards-TCP port of its Stack-Configuration-Data, s5.7.2),
 *   or to a port the caller names: reassembled per direction and split by
 *   the common header's Message Length (C-mode, s5.4).
 * Two passes: the first learns the announcements from UDP, the second
 * decodes every frame in order. Never throws; per-frame problems become items.
 */
import type { Result } from '../../common/result';
import {
  decodeGistDatagram,
  forwardsTcpPort,
  GIST_MAGIC,
  GIST_PORT,
  GistStreamDecoder,
  type GistDecodeError,
  type GistMessage,
} from '../codec';
import type { CaptureError } from './errors';
import type { CapturedFrame } from './frame';
import type { IpPacket } from './ip';
import { decodePacket } from './packet';
import { TcpReassembler } from './reassembly';
import type { TcpSegment, UdpDatagram } from './transport';

/** Where a message was found. */
export interface GistContext {
  readonly frame: CapturedFrame;
  readonly ipVersion: 4 | 6;
  readonly src: string;
  readonly dst: string;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly transport: 'udp' | 'tcp';
  /** Q: Q-mode (Router Alert present); D: normal D-mode datagram; C: C-mode stream. */
  readonly mode: 'Q' | 'D' | 'C';
  readonly routerAlert?: number;
  readonly ttl: number;
  /** Why these bytes were taken for GIST. */
  readonly detectedBy: 'port-270' | 'magic' | 'announced-endpoint' | 'announced-tcp' | 'tcp-port-option';
  /** Frame offset of the message's first byte (UDP: the magic number), when it lies inside this frame. */
  readonly frameOffset?: number;
  /** The capture cut the datagram short (snap length). */
  readonly truncated?: boolean;
}

export type GistCaptureItem =
  | { readonly kind: 'message'; readonly ctx: GistContext; readonly message: GistMessage }
  | { readonly kind: 'gist-error'; readonly ctx: GistContext; readonly error: GistDecodeError }
  /** A frame whose link, IP, UDP or TCP headers are malformed. */
  | { readonly kind: 'frame-error'; readonly frame: CapturedFrame; readonly error: CaptureError }
  /** Something a person debugging should know (an IP fragment on a GIST flow, a TCP gap, a stream cut off). */
  | { readonly kind: 'note'; readonly frame: CapturedFrame; readonly ctx?: GistContext; readonly note: string };

export interface ExtractOptions {
  /** TCP ports to treat as C-mode even without an announcement (a capture that missed the handshake). */
  readonly tcpPorts?: readonly number[];
  /** After this many consecutive undecodable messages, a C-mode direction is given up (default 8). */
  readonly maxStreamErrors?: number;
}

const endpointKey = (addr: string, port: number): string => `${addr}|${port}`;

interface Direction {
  readonly reassembler: TcpReassembler;
  decoder: GistStreamDecoder;
  /** Framing lost (a gap, or too many errors): nothing more is decoded until a new SYN. */
  lost: boolean;
  errors: number;
  lastFrame?: CapturedFrame;
  lastCtx?: GistContext;
}

/** A first fragment whose UDP header (still readable) goes to or from port 270, or whose payload starts with the magic number. */
function looksLikeGistFragment(data: Uint8Array, ip: IpPacket): boolean {
  const o = ip.payloadOffset;
  if (ip.fragment?.offset !== 0 || ip.protocol !== 17 || o + 8 > ip.payloadEnd) return false;
  const sport = (data[o] << 8) | data[o + 1];
  const dport = (data[o + 2] << 8) | data[o + 3];
  return sport === GIST_PORT || dport === GIST_PORT || startsWithMagic(data.subarray(o + 8, ip.payloadEnd));
}

function startsWithMagic(p: Uint8Array): boolean {
  return p.length >= 4 && ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0 === GIST_MAGIC;
}

/** Endpoints and hosts that GIST traffic announced or used. */
class Announcements {
  readonly udp = new Set<string>();
  readonly tcp = new Set<string>();

  learn(ip: IpPacket, udp: UdpDatagram, msg: GistMessage): void {
    this.udp.add(endpointKey(ip.src, udp.srcPort));
    this.udp.add(endpointKey(ip.dst, udp.dstPort));
    if ((msg.type === 'Response' || msg.type === 'Query' || msg.type === 'Confirm') && msg.stackConfigurationData) {
      for (const o of msg.stackConfigurationData.maProtocolOptions) {
        const port = forwardsTcpPort(o);
        if (port === undefined || port === 0) continue;
        // s5.7.2: the connection goes to the NLI interface address at the SCD port; the IP source is
        // added too, for captures where the two differ (a NAT rewrote the packet but not the NLI).
        this.tcp.add(endpointKey(msg.nli.interfaceAddress, port));
        this.tcp.add(endpointKey(ip.src, port));
      }
    }
  }
}

export function extractGist(frames: readonly CapturedFrame[], opts: ExtractOptions = {}): GistCaptureItem[] {
  const ann = new Announcements();
  const tcpPorts = new Set(opts.tcpPorts ?? []);
  const maxStreamErrors = opts.maxStreamErrors ?? 8;

  // Pass 1: learn endpoints from every UDP datagram that decodes as GIST. The decoded datagrams are kept
  // (by frame index) for pass 2, so no datagram is decoded twice.
  const datagrams = new Map<number, Result<GistMessage, GistDecodeError>>();
  frames.forEach((f, i) => {
    const d = decodePacket(f.linkType, f.data);
    if (!d.ok || d.value.kind !== 'ip' || d.value.transport.kind !== 'udp') return;
    const u = d.value.transport.udp;
    if (u.srcPort !== GIST_PORT && u.dstPort !== GIST_PORT && !startsWithMagic(u.payload)) return;
    const r = decodeGistDatagram(u.payload, { qMode: qModeOf(d.value.ip, u) });
    datagrams.set(i, r);
    if (r.ok) ann.learn(d.value.ip, u, r.value);
  });

  const out: GistCaptureItem[] = [];
  const flows = new Map<string, Direction>();
  const unsupported = new Set<number>();

  for (let i = 0; i < frames.length; i++) {
    const f = frames[i];
    const d = decodePacket(f.linkType, f.data);
    if (!d.ok) {
      // A link type natfw cannot read is said once, not for every frame of a long capture.
      if (d.error.code === 'LINK_UNSUPPORTED' && d.error.offset === 0) {
        if (!unsupported.has(f.linkType)) out.push({ kind: 'frame-error', frame: f, error: d.error });
        unsupported.add(f.linkType);
        continue;
      }
      out.push({ kind: 'frame-error', frame: f, error: d.error });
      continue;
    }
    if (d.value.kind !== 'ip') continue;
    const ip = d.value.ip;
    const t = d.value.transport;
    if (t.kind === 'udp') udpItem(f, ip, t.udp, ann, datagrams.get(i), out);
    else if (t.kind === 'tcp') tcpItems(f, ip, t.tcp, ann, tcpPorts, flows, maxStreamErrors, out);
    else if (t.kind === 'fragment' && (ip.routerAlert !== undefined || looksLikeGistFragment(f.data, ip))) {
      const what = ip.routerAlert !== undefined ? ` with Router Alert ${ip.routerAlert}` : ' of a GIST datagram';
      out.push({ kind: 'note', frame: f, note: `IPv${ip.version} fragment${what} from ${ip.src} to ${ip.dst}: fragments are not reassembled, the message is not decoded` });
    }
  }
  // A stream that ends in the middle of a message says so.
  for (const dir of flows.values()) {
    if (!dir.lost && dir.decoder.buffered > 0 && dir.lastFrame) {
      out.push({ kind: 'note', frame: dir.lastFrame, ctx: dir.lastCtx, note: `C-mode stream ends with ${dir.decoder.buffered} bytes of an incomplete message` });
    }
  }
  return out;
}

/**
 * Q-mode is known when the Router Alert is there; to port 270 without it, a node may still run Q-mode
 * by local policy (s5.3.2), so the encapsulation rules are not applied (undefined).
 */
function qModeOf(ip: IpPacket, u: UdpDatagram): boolean | undefined {
  return ip.routerAlert !== undefined ? true : u.dstPort === GIST_PORT ? undefined : false;
}

function udpItem(
  f: CapturedFrame,
  ip: IpPacket,
  u: UdpDatagram,
  ann: Announcements,
  decoded: Result<GistMessage, GistDecodeError> | undefined,
  out: GistCaptureItem[],
): void {
  let detectedBy: GistContext['detectedBy'];
  if (u.srcPort === GIST_PORT || u.dstPort === GIST_PORT) detectedBy = 'port-270';
  else if (ann.udp.has(endpointKey(ip.src, u.srcPort)) && ann.udp.has(endpointKey(ip.dst, u.dstPort))) detectedBy = 'announced-endpoint';
  else if (startsWithMagic(u.payload)) detectedBy = 'magic';
  else return;
  const ctx: GistContext = {
    frame: f,
    ipVersion: ip.version,
    src: ip.src,
    dst: ip.dst,
    srcPort: u.srcPort,
    dstPort: u.dstPort,
    transport: 'udp',
    mode: ip.routerAlert !== undefined ? 'Q' : 'D',
    routerAlert: ip.routerAlert,
    ttl: ip.ttl,
    detectedBy,
    frameOffset: u.payloadOffset,
    truncated: u.truncated || undefined,
  };
  const r = decoded ?? decodeGistDatagram(u.payload, { qMode: qModeOf(ip, u) });
  out.push(r.ok ? { kind: 'message', ctx, message: r.value } : { kind: 'gist-error', ctx, error: r.error });
}

function tcpItems(
  f: CapturedFrame,
  ip: IpPacket,
  t: TcpSegment,
  ann: Announcements,
  tcpPorts: ReadonlySet<number>,
  flows: Map<string, Direction>,
  maxStreamErrors: number,
  out: GistCaptureItem[],
): void {
  let detectedBy: GistContext['detectedBy'];
  if (ann.tcp.has(endpointKey(ip.dst, t.dstPort)) || ann.tcp.has(endpointKey(ip.src, t.srcPort))) detectedBy = 'announced-tcp';
  else if (tcpPorts.has(t.dstPort) || tcpPorts.has(t.srcPort)) detectedBy = 'tcp-port-option';
  else return;
  const key = `${ip.src}|${t.srcPort}|${ip.dst}|${t.dstPort}`;
  let dir = flows.get(key);
  if (!dir) {
    dir = { reassembler: new TcpReassembler(), decoder: new GistStreamDecoder(), lost: false, errors: 0 };
    flows.set(key, dir);
  }
  const ctx: GistContext = {
    frame: f,
    ipVersion: ip.version,
    src: ip.src,
    dst: ip.dst,
    srcPort: t.srcPort,
    dstPort: t.dstPort,
    transport: 'tcp',
    mode: 'C',
    routerAlert: ip.routerAlert,
    ttl: ip.ttl,
    detectedBy,
  };
  if (t.payload.length > 0 || t.flags.syn) {
    dir.lastFrame = f;
    dir.lastCtx = ctx;
  }
  for (const e of dir.reassembler.push({ seq: t.seq, syn: t.flags.syn, payload: t.payload })) {
    if (e.kind === 'restart') {
      dir.decoder = new GistStreamDecoder();
      dir.lost = false;
      dir.errors = 0;
    } else if (e.kind === 'gap') {
      if (!dir.lost) {
        out.push({ kind: 'note', frame: f, ctx, note: `${e.bytes} bytes of this TCP direction were never captured: C-mode framing lost, the rest of it is not decoded` });
      }
      dir.lost = true;
    } else if (!dir.lost) {
      dir.decoder.push(e.bytes);
      // Each next() consumes a whole message or returns undefined, so this loop ends.
      for (let r = dir.decoder.next(); r !== undefined; r = dir.lost ? undefined : dir.decoder.next()) {
        streamItem(ctx, r, dir, maxStreamErrors, out);
      }
    }
  }
}

function streamItem(ctx: GistContext, r: Result<GistMessage, GistDecodeError>, dir: Direction, maxErrors: number, out: GistCaptureItem[]): void {
  if (r.ok) {
    dir.errors = 0;
    out.push({ kind: 'message', ctx, message: r.value });
    return;
  }
  out.push({ kind: 'gist-error', ctx, error: r.error });
  if (++dir.errors >= maxErrors) {
    dir.lost = true;
    out.push({ kind: 'note', frame: ctx.frame, ctx, note: `${maxErrors} undecodable messages in a row: this is not a GIST stream, the rest of this TCP direction is not decoded` });
  }
}
