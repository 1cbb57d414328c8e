/**
 * `natfw decode --hex <hex> | --pcap <file>`: every GIST message found, one
 * JSON object per line, decoded in layers as a packet analyser does: frame,
 * IP (with the Router Alert value), UDP/TCP, the GIST common header and
 * objects (RFC 5971 names), then the NSLP payload when its NSLPID is NATFW's
 * (RFC 5973, with SESSION_AUTH of RFC 5981). A layer that does not decode is
 * reported beside the layers that did.
 *
 * Exit status: 0 when the input was read (for a capture, frames that do not
 * decode get an error line and the rest is decoded); 1 for --hex input that
 * does not decode (one line naming the RFC error and the byte offset) and
 * for a file that is not a capture; 2 for bad arguments.
 */
import type { Command } from 'commander';
import { readFileSync } from 'fs';
import { fromHex } from '../common/bytes';
import {
  extractGist,
  formatTimestamp,
  LINKTYPE_RAW,
  readCapture,
  type CaptureError,
  type CapturedFrame,
  type GistCaptureItem,
  type GistContext,
} from '../gist/capture';
import { decodeGistDatagram, decodeGistMessage, GIST_MAGIC, gistMessageToJson, type GistDecodeError, type GistMessage } from '../gist/codec';
import { decodeNatfwMessage, NATFW_NSLPID, natfwMessageToJson, type NatfwDecodeError } from '../natfw-nslp/codec';
import { action, CliFailure, CliUsageError, intArg } from './common';

type Json = { [k: string]: unknown };

function gistErrorJson(e: GistDecodeError): Json {
  return {
    layer: 'gist',
    code: e.code,
    errorClass: e.errorClass,
    errorClassName: e.errorClassName,
    errorCode: e.errorCode,
    ...(e.subcode !== undefined ? { errorSubcode: e.subcode } : {}),
    ...(e.objectType !== undefined ? { objectType: e.objectType } : {}),
    offset: e.offset,
    message: e.message,
  };
}

function natfwErrorJson(e: NatfwDecodeError): Json {
  return {
    layer: 'nslp',
    code: e.code,
    responseClass: e.responseClass,
    responseCode: e.responseCode,
    offset: e.offset,
    message: e.describe(),
  };
}

function captureErrorJson(e: CaptureError): Json {
  return { layer: 'capture', code: e.code, offset: e.offset, message: e.message };
}

/** The GIST layer and, for NATFW's NSLPID, the NSLP layer above it (or its error, with the offset in the payload). */
export function messageJson(msg: GistMessage): Json {
  const out: Json = { gist: gistMessageToJson(msg) };
  const payload = 'nslpData' in msg ? msg.nslpData : undefined;
  if (payload !== undefined && msg.header.nslpId === NATFW_NSLPID) {
    const r = decodeNatfwMessage(payload);
    if (r.ok) out.nslp = natfwMessageToJson(r.value);
    else out.nslpError = natfwErrorJson(r.error);
  }
  return out;
}

function contextJson(ctx: GistContext): Json {
  return {
    frame: ctx.frame.number,
    time: formatTimestamp(ctx.frame.timestamp),
    ipVersion: ctx.ipVersion,
    src: ctx.src,
    dst: ctx.dst,
    srcPort: ctx.srcPort,
    dstPort: ctx.dstPort,
    transport: ctx.transport,
    mode: ctx.mode,
    ...(ctx.routerAlert !== undefined ? { routerAlert: ctx.routerAlert } : {}),
    ttl: ctx.ttl,
    detectedBy: ctx.detectedBy,
    ...(ctx.truncated ? { truncated: true } : {}),
  };
}

function frameJson(f: CapturedFrame): Json {
  return { frame: f.number, time: formatTimestamp(f.timestamp) };
}

/** One JSON object per item found in the frames. */
export function itemsToLines(items: readonly GistCaptureItem[]): Json[] {
  return items.map((it): Json => {
    switch (it.kind) {
      case 'message':
        return { ...contextJson(it.ctx), ...messageJson(it.message) };
      case 'gist-error': {
        const e = gistErrorJson(it.error);
        // A datagram's offsets count from its magic number; say where that is in the frame as well.
        if (it.ctx.frameOffset !== undefined) e.frameOffset = it.ctx.frameOffset + it.error.offset;
        return { ...contextJson(it.ctx), error: e };
      }
      case 'frame-error':
        return { ...frameJson(it.frame), error: { ...captureErrorJson(it.error), frameOffset: it.error.offset } };
      case 'note':
        return { ...(it.ctx ? contextJson(it.ctx) : frameJson(it.frame)), note: it.note };
    }
  });
}

export interface DecodeResult {
  readonly lines: Json[];
  /** Set when the input as a whole is undecodable: the one line to print on stderr. */
  readonly failure?: string;
}

/**
 * --hex: a GIST datagram (starting with the magic number 0x4e04bda5), a bare
 * GIST message (common header first), or a whole IPv4/IPv6 packet (first
 * nibble 4 or 6, which a GIST common header, version 1, never has).
 */
export function decodeHex(bytes: Uint8Array): DecodeResult {
  const first = bytes.length > 0 ? bytes[0] >> 4 : -1;
  const magic = bytes.length >= 4 && ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0 === GIST_MAGIC;
  if (!magic && (first === 4 || first === 6)) {
    const frame: CapturedFrame = { number: 1, timestamp: { sec: 0, nsec: 0 }, linkType: LINKTYPE_RAW, interfaceId: 0, data: bytes, originalLength: bytes.length, fileOffset: 0 };
    const items = extractGist([frame]);
    const lines = itemsToLines(items);
    for (const l of lines) delete l.time;
    const bad = items.find((i) => i.kind === 'gist-error' || i.kind === 'frame-error');
    if (bad && (bad.kind === 'gist-error' || bad.kind === 'frame-error')) {
      const off = bad.kind === 'gist-error' ? (bad.ctx.frameOffset ?? 0) + bad.error.offset : bad.error.offset;
      const what = bad.kind === 'gist-error' ? describeGist(bad.error) : bad.error.message;
      return { lines: [], failure: `${what} (byte ${off} of the IP packet)` };
    }
    if (!items.some((i) => i.kind === 'message')) {
      const note = items.find((i) => i.kind === 'note');
      return { lines: [], failure: note?.kind === 'note' ? note.note : 'the IP packet carries no GIST message (not UDP to or from port 270, no magic number)' };
    }
    return nslpFailure(lines);
  }
  const r = magic ? decodeGistDatagram(bytes) : decodeGistMessage(bytes);
  // Undecodable GIST: the one line on stderr says it all (the RFC error and the byte offset).
  if (!r.ok) return { lines: [], failure: describeGist(r.error) };
  return nslpFailure([messageJson(r.value)]);
}

function describeGist(e: GistDecodeError): string {
  return `GIST ${e.errorClassName}: ${e.message}`;
}

function nslpFailure(lines: Json[]): DecodeResult {
  for (const l of lines) {
    const e = l.nslpError as { message?: string } | undefined;
    if (e?.message) return { lines, failure: e.message };
  }
  return { lines };
}

export interface CaptureDecodeOptions {
  readonly tcpPorts?: readonly number[];
}

/** --pcap: the lines for every GIST message, undecodable frame and note; a failure only when the bytes are not a capture. */
export function decodeCaptureBytes(bytes: Uint8Array, opts: CaptureDecodeOptions = {}): DecodeResult {
  const cap = readCapture(bytes);
  if (!cap.ok) return { lines: [], failure: `${cap.error.message} (byte ${cap.error.offset})` };
  const lines = itemsToLines(extractGist(cap.value.frames, { tcpPorts: opts.tcpPorts }));
  for (const s of cap.value.skipped) lines.push({ error: captureErrorJson(s) });
  // A capture cut short (a tcpdump killed mid-write) still yields every frame before the cut.
  if (cap.value.error) lines.push({ afterFrame: cap.value.frames.length, error: captureErrorJson(cap.value.error) });
  return { lines };
}

interface DecodeOpts {
  hex?: string;
  pcap?: string;
  tcpPort: number[];
  json?: boolean;
}

function print(lines: Json[]): void {
  for (const l of lines) process.stdout.write(JSON.stringify(l) + '\n');
}

export function register(program: Command): void {
  const port = intArg('--tcp-port', 1, 65535);
  program
    .command('decode')
    .description('decode GIST messages (and NATFW payloads) from hex or a pcap/pcapng capture: one JSON object per line')
    .option('--hex <hex>', 'a GIST datagram (magic number first), a GIST message, or an IPv4/IPv6 packet, as hex')
    .option('--pcap <file>', "a pcap or pcapng capture (Ethernet, raw IP, Linux cooked SLL/SLL2); '-' for stdin")
    .option('--tcp-port <port>', 'also treat TCP flows on this port as C-mode GIST (repeatable)', (v: string, acc: number[]) => [...acc, port(v)], [] as number[])
    .option('--json', 'one JSON object per line (the only output format)')
    .addHelpText(
      'after',
      '\nExit status: 0 decoded (capture frames that do not decode get an error line); 1 --hex input undecodable, or not a capture file; 2 bad arguments.',
    )
    .action(
      action((opts: DecodeOpts) => {
        if ((opts.hex === undefined) === (opts.pcap === undefined)) throw new CliUsageError('decode needs exactly one of --hex <hex> or --pcap <file>');
        let result: DecodeResult;
        if (opts.hex !== undefined) {
          const bytes = fromHex(opts.hex);
          if (!bytes || bytes.length === 0) throw new CliUsageError(`--hex must be an even number of hex digits, got '${opts.hex.slice(0, 40)}'`);
          result = decodeHex(bytes);
        } else {
          let bytes: Uint8Array;
          try {
            // '-' reads the capture from stdin (e.g. `tcpdump -w - ... | natfw decode --pcap -`, decoded when it ends).
            bytes = new Uint8Array(readFileSync(opts.pcap === '-' ? 0 : opts.pcap!));
          } catch (e) {
            throw new CliFailure(`cannot read ${opts.pcap}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
          }
          result = decodeCaptureBytes(bytes, { tcpPorts: opts.tcpPort });
          if (result.failure) result = { lines: result.lines, failure: `${opts.pcap}: ${result.failure}` };
        }
        print(result.lines);
        if (result.failure) throw new CliFailure(result.failure);
      }),
    );
}

