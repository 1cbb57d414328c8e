/**
 * What the HMAC of a HMAC_SIGNED SESSION_AUTH covers (RFC 5981 s3.2.7,
 * s3.2.8, s6.1, s6.4), one documented reading, configurable:
 *
 * - `objectHeader` (default true): the SESSION_AUTH object's 32-bit NSLP
 *   object header as sent (AB=10, type 0x016, the final Length).
 * - then every attribute before AUTHENTICATION_DATA, exactly as sent
 *   (headers, values, zero padding): s3.2.8 "signs all the data in the
 *   object up to the AUTHENTICATION_DATA".
 * - `authDataPrefix` (default true): the AUTHENTICATION_DATA attribute's
 *   header and its Key-ID, i.e. every octet of the object but the MAC itself.
 * - `message` (default false): s3.2.7's message binding. Hashed first: the
 *   GIST Session ID (16 octets), the NSLPID (16 bits, big endian) and the MRI
 *   (its value in RFC 5971 A.3.1 form, without the GIST object header); then
 *   each NSLP object listed in NSLP_OBJECT_LIST, in list order, as the whole
 *   object (header and value) found in the NSLP message. Tokens issued in
 *   advance cannot know the Session ID, so `natfw token issue` signs with
 *   `message: false` and an empty NSLP_OBJECT_LIST; s6.4 per-message
 *   integrity (the sender holds the key) uses `message: true`.
 *
 * With the defaults every octet of the object except the MAC is covered, so
 * changing any of them makes the check fail. `{ objectHeader: false,
 * authDataPrefix: false }` is the narrowest reading of s3.2.8 for peers that
 * read it that way.
 */
import { err, ok, type Result } from '../../common/result';

export interface MacCoverage {
  readonly objectHeader: boolean;
  readonly authDataPrefix: boolean;
  readonly message: boolean;
}

export const DEFAULT_COVERAGE: MacCoverage = { objectHeader: true, authDataPrefix: true, message: false };

/** RFC 5981 s3.2.7 inputs that GIST carries (delivered through the GIST API). */
export interface MessageContext {
  readonly sessionId: Uint8Array;
  readonly nslpId: number;
  /** The MRI value in its RFC 5971 network representation (without the GIST object header). */
  readonly mriValue: Uint8Array;
  /** The NSLP message (NSLP header and objects) the SESSION_AUTH travels in. */
  readonly nslpMessage: Uint8Array;
}

/** Where AUTHENTICATION_DATA sits in a raw SESSION_AUTH object. */
export interface AuthDataLocation {
  /** Offset of the attribute header. */
  readonly attrStart: number;
  /** Offset of the Key-ID (the attribute value). */
  readonly valueStart: number;
  /** End of the value (Length, without padding). */
  readonly valueEnd: number;
}

/** Walks the attributes of a raw SESSION_AUTH object (header included) to its AUTHENTICATION_DATA (X-Type 8). */
export function locateAuthData(raw: Uint8Array): AuthDataLocation | undefined {
  let at = 4;
  for (let i = 0; at + 4 <= raw.length && i < 4096; i++) {
    const len = (raw[at] << 8) | raw[at + 1];
    if (len <= 4) return undefined;
    if (raw[at + 2] === 8) return at + len <= raw.length ? { attrStart: at, valueStart: at + 4, valueEnd: at + len } : undefined;
    at += (len + 3) & ~3;
  }
  return undefined;
}

/** The whole NSLP objects of `nslpMessage`, by type (first of each), walking object headers (bounded by the length). */
export function nslpObjectsByType(nslpMessage: Uint8Array): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  for (let at = 4; at + 4 <= nslpMessage.length; ) {
    const type = ((nslpMessage[at] << 8) | nslpMessage[at + 1]) & 0xfff;
    const end = at + 4 + (((nslpMessage[at + 2] << 8) | nslpMessage[at + 3]) & 0xfff) * 4;
    if (end > nslpMessage.length) break;
    if (!out.has(type)) out.set(type, nslpMessage.subarray(at, end));
    at = end;
  }
  return out;
}

/** Every SESSION_AUTH object (0x016) of an NSLP message, raw (header included), in order. */
export function rawSessionAuthObjects(nslpMessage: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 4; at + 4 <= nslpMessage.length; ) {
    const type = ((nslpMessage[at] << 8) | nslpMessage[at + 1]) & 0xfff;
    const end = at + 4 + (((nslpMessage[at + 2] << 8) | nslpMessage[at + 3]) & 0xfff) * 4;
    if (end > nslpMessage.length) break;
    if (type === 0x016) out.push(nslpMessage.subarray(at, end));
    at = end;
  }
  return out;
}

/**
 * The byte strings the MAC is computed over, in order. `objectList` is the
 * token's NSLP_OBJECT_LIST (used only with `coverage.message`).
 */
export function macInput(
  raw: Uint8Array,
  loc: AuthDataLocation,
  coverage: MacCoverage,
  objectList: readonly number[],
  ctx?: MessageContext,
): Result<Uint8Array[], string> {
  const parts: Uint8Array[] = [];
  if (coverage.message) {
    if (ctx === undefined) return err('the MAC covers the Session ID, NSLPID and MRI, which were not provided');
    const nslpId = new Uint8Array([ctx.nslpId >> 8, ctx.nslpId & 0xff]);
    parts.push(ctx.sessionId, nslpId, ctx.mriValue);
    const objects = nslpObjectsByType(ctx.nslpMessage);
    for (const t of objectList) {
      if (t === 0x016) return err('NSLP_OBJECT_LIST names SESSION_AUTH itself, whose MAC cannot cover itself');
      const o = objects.get(t);
      if (o === undefined) return err(`NSLP_OBJECT_LIST names object type 0x${t.toString(16).padStart(3, '0')}, absent from the message`);
      parts.push(o);
    }
  }
  parts.push(raw.subarray(coverage.objectHeader ? 0 : 4, loc.attrStart));
  if (coverage.authDataPrefix) parts.push(raw.subarray(loc.attrStart, loc.valueStart + 4));
  return ok(parts);
}
