/**
 * pcapng reader (draft-ietf-opsawg-pcapng): Section Header Block (either byte
 * order, several sections), Interface Description Blocks (link type,
 * if_tsresol, if_tsoffset), Enhanced Packet Blocks, Simple Packet Blocks and
 * the obsolete Packet Block; other blocks are skipped by their length.
 * Never throws: a malformed block ends the reading with a typed error and
 * keeps every frame before it.
 */
import { err, ok, type Result } from '../../common/result';
import { CaptureError } from './errors';
import type { CaptureFile, CapturedFrame, Timestamp } from './frame';

export const PCAPNG_SHB = 0x0a0d0d0a;
export const PCAPNG_IDB = 0x00000001;
export const PCAPNG_PB = 0x00000002;
export const PCAPNG_SPB = 0x00000003;
export const PCAPNG_EPB = 0x00000006;
export const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** A block longer than this is taken as corruption rather than allocated around. */
export const PCAPNG_MAX_BLOCK = 0x4000000;

const OPT_ENDOFOPT = 0;
const IF_TSRESOL = 9;
const IF_TSOFFSET = 14;

interface Interface {
  readonly linkType: number;
  readonly snapLen: number;
  /** Timestamp units per second as (base, exponent): 10^-n or 2^-n (if_tsresol). */
  readonly resolBase: 10n | 2n;
  readonly resolExp: bigint;
  readonly offsetSec: bigint;
}

export function isPcapng(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x0a && bytes[1] === 0x0d && bytes[2] === 0x0d && bytes[3] === 0x0a;
}

export function readPcapng(bytes: Uint8Array): Result<CaptureFile, CaptureError> {
  if (!isPcapng(bytes)) return err(new CaptureError('CAPTURE_NOT_A_CAPTURE', 0, 'not a pcapng file (no Section Header Block)'));
  if (bytes.length < 12) {
    return err(new CaptureError('CAPTURE_TRUNCATED', bytes.length, `Section Header Block needs 28 bytes, file has ${bytes.length}`));
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bom = dv.getUint32(8, false);
  if (bom !== PCAPNG_BYTE_ORDER_MAGIC && dv.getUint32(8, true) !== PCAPNG_BYTE_ORDER_MAGIC) {
    return err(new CaptureError('CAPTURE_NOT_A_CAPTURE', 8, 'pcapng Section Header Block has no byte-order magic'));
  }
  const frames: CapturedFrame[] = [];
  const skipped: CaptureError[] = [];
  let interfaces: Interface[] = [];
  let le = bom !== PCAPNG_BYTE_ORDER_MAGIC;
  let off = 0;
  let error: CaptureError | undefined;
  // Every block advances by at least 12 bytes (checked below), so the loop ends.
  while (off < bytes.length) {
    if (off + 12 > bytes.length) {
      error = new CaptureError('CAPTURE_TRUNCATED', off, `block at offset ${off} needs at least 12 bytes, ${bytes.length - off} left`);
      break;
    }
    let type = dv.getUint32(off, le);
    if (dv.getUint32(off, false) === PCAPNG_SHB) {
      type = PCAPNG_SHB;
      // A new section may change the byte order; its interfaces start afresh.
      const b = dv.getUint32(off + 8, false);
      if (b === PCAPNG_BYTE_ORDER_MAGIC) le = false;
      else if (dv.getUint32(off + 8, true) === PCAPNG_BYTE_ORDER_MAGIC) le = true;
      else {
        error = new CaptureError('CAPTURE_BAD_BLOCK', off + 8, `Section Header Block at offset ${off} has no byte-order magic`);
        break;
      }
      interfaces = [];
    }
    const total = dv.getUint32(off + 4, le);
    if (total < 12 || total % 4 !== 0 || total > PCAPNG_MAX_BLOCK) {
      error = new CaptureError('CAPTURE_BAD_BLOCK', off + 4, `block at offset ${off} has an invalid total length ${total}`);
      break;
    }
    if (off + total > bytes.length) {
      error = new CaptureError('CAPTURE_TRUNCATED', off, `block at offset ${off} declares ${total} bytes, ${bytes.length - off} left`);
      break;
    }
    if (dv.getUint32(off + total - 4, le) !== total) {
      error = new CaptureError('CAPTURE_BAD_BLOCK', off + total - 4, `block at offset ${off}: trailing length does not match ${total}`);
      break;
    }
    const body = off + 8;
    const bodyEnd = off + total - 4;
    const bodyLen = bodyEnd - body;
    const bad = (at: number, what: string): CaptureError => new CaptureError('CAPTURE_BAD_BLOCK', at, `block at offset ${off}: ${what}`);
    if (type === PCAPNG_SHB) {
      if (bodyLen < 16) {
        error = bad(body, 'Section Header Block shorter than 16 bytes of body');
        break;
      }
    } else if (type === PCAPNG_IDB) {
      if (bodyLen < 8) {
        error = bad(body, 'Interface Description Block shorter than 8 bytes of body');
        break;
      }
      const iface = readInterface(dv, body, bodyEnd, le);
      if (!iface.ok) {
        error = iface.error;
        break;
      }
      interfaces.push(iface.value);
    } else if (type === PCAPNG_EPB || type === PCAPNG_PB) {
      if (bodyLen < 20) {
        error = bad(body, 'packet block shorter than 20 bytes of body');
        break;
      }
      const ifId = type === PCAPNG_EPB ? dv.getUint32(body, le) : dv.getUint16(body, le);
      const tsHigh = dv.getUint32(body + 4, le);
      const tsLow = dv.getUint32(body + 8, le);
      const capLen = dv.getUint32(body + 12, le);
      const origLen = dv.getUint32(body + 16, le);
      if (capLen > bodyLen - 20) {
        error = bad(body + 12, `captured length ${capLen} exceeds the block`);
        break;
      }
      const iface = interfaces[ifId];
      if (!iface) {
        skipped.push(new CaptureError('CAPTURE_UNKNOWN_INTERFACE', body, `packet block at offset ${off} names undeclared interface ${ifId}`));
      } else {
        frames.push({
          number: frames.length + 1,
          timestamp: toTimestamp(iface, (BigInt(tsHigh) << 32n) | BigInt(tsLow)),
          linkType: iface.linkType,
          interfaceId: ifId,
          data: bytes.subarray(body + 20, body + 20 + capLen),
          originalLength: Math.max(origLen, capLen),
          fileOffset: body + 20,
        });
      }
    } else if (type === PCAPNG_SPB) {
      if (bodyLen < 4) {
        error = bad(body, 'Simple Packet Block shorter than 4 bytes of body');
        break;
      }
      const origLen = dv.getUint32(body, le);
      const iface = interfaces[0];
      if (!iface) {
        skipped.push(new CaptureError('CAPTURE_UNKNOWN_INTERFACE', body, `Simple Packet Block at offset ${off} before any interface`));
      } else {
        // s4.4: the captured length is the smaller of the original length, the snap length and the block.
        let capLen = Math.min(origLen, bodyLen - 4);
        if (iface.snapLen > 0) capLen = Math.min(capLen, iface.snapLen);
        frames.push({
          number: frames.length + 1,
          // A Simple Packet Block carries no timestamp.
          timestamp: { sec: 0, nsec: 0 },
          linkType: iface.linkType,
          interfaceId: 0,
          data: bytes.subarray(body + 4, body + 4 + capLen),
          originalLength: Math.max(origLen, capLen),
          fileOffset: body + 4,
        });
      }
    }
    off += total;
  }
  return ok({ format: 'pcapng', frames, error, skipped });
}

function readInterface(dv: DataView, body: number, bodyEnd: number, le: boolean): Result<Interface, CaptureError> {
  const linkType = dv.getUint16(body, le);
  const snapLen = dv.getUint32(body + 4, le);
  let resolBase: 10n | 2n = 10n;
  let resolExp = 6n;
  let offsetSec = 0n;
  let o = body + 8;
  // Each option advances by at least 4 bytes, so the loop ends.
  while (o + 4 <= bodyEnd) {
    const code = dv.getUint16(o, le);
    const len = dv.getUint16(o + 2, le);
    if (code === OPT_ENDOFOPT) break;
    const v = o + 4;
    if (v + len > bodyEnd) return err(new CaptureError('CAPTURE_BAD_BLOCK', o + 2, `interface option ${code} at offset ${o} overruns the block`));
    if (code === IF_TSRESOL && len >= 1) {
      const r = dv.getUint8(v);
      resolBase = r & 0x80 ? 2n : 10n;
      resolExp = BigInt(r & 0x7f);
      // Beyond 10^-30 or 2^-100 no clock exists; refuse rather than compute with absurd divisors.
      if ((resolBase === 10n && resolExp > 30n) || resolExp > 100n) {
        return err(new CaptureError('CAPTURE_BAD_BLOCK', v, `if_tsresol ${r} is not plausible`));
      }
    } else if (code === IF_TSOFFSET && len >= 8) {
      const hi = BigInt(dv.getInt32(le ? v + 4 : v, le));
      const lo = BigInt(dv.getUint32(le ? v : v + 4, le));
      offsetSec = (hi << 32n) | lo;
    }
    o = v + ((len + 3) & ~3);
  }
  return ok({ linkType, snapLen, resolBase, resolExp, offsetSec });
}

function toTimestamp(iface: Interface, units: bigint): Timestamp {
  const perSec = iface.resolBase ** iface.resolExp;
  const sec = units / perSec + iface.offsetSec;
  const nsec = ((units % perSec) * 1_000_000_000n) / perSec;
  return { sec: Number(sec), nsec: Number(nsec) };
}
