/**
 * natfwd's control socket protocol: a unix stream socket carrying JSON lines.
 * Each request is one object `{id?, op, ...}`; each answer is one object
 * `{id, ok: true, ...}` or `{id, ok: false, error: {code, message, ...}}`.
 * `events` answers once and then streams one `{event: ...}` line per session
 * event until the client closes the connection.
 *
 *   {"id":1,"op":"ping"}                                  -> {"id":1,"ok":true,"node":"fw1","pid":123}
 *   {"id":2,"op":"create","dst":"198.18.2.2","proto":"udp","dport":5004,"lifetime":60}
 *                                                         -> {"id":2,"ok":true,"session":"<hex>","lifetime":60}
 *   {"id":6,"op":"external","sda":"198.18.1.1","proto":"udp","dport":5004}
 *                                                         -> {"id":6,"ok":true,"session":"<hex>","lifetime":30,
 *                                                             "externalAddress":"198.18.1.2","externalPort":40000}
 *   {"id":3,"op":"teardown","session":"<hex>"}            -> {"id":3,"ok":true}
 *   {"id":4,"op":"list"}                                  -> {"id":4,"ok":true,"sessions":[...]}
 *   {"id":7,"op":"stats"}                                 -> {"id":7,"ok":true,"gist":{...},"driver":{...},"sessions":{...},...}
 *   {"id":5,"op":"events"}                                -> {"id":5,"ok":true}, then {"event":"session.created",...}...
 *
 * Refusals by the path carry the RFC 5973 s4.2.5 class/code and its name.
 */
import { err, ok, type Result } from '../common/result';

/** Longest request line accepted (a token is well under 1 KiB). */
export const MAX_REQUEST_BYTES = 64 * 1024;

export interface CreateRequest {
  readonly op: 'create';
  readonly dst: string;
  readonly src?: string;
  readonly proto: string | number;
  readonly dport?: number;
  readonly sport?: number;
  readonly subPorts?: number;
  readonly action?: 'allow' | 'deny';
  readonly lifetime?: number;
  /** SESSION_AUTH object (header included) as hex, as `natfw token issue` writes it. */
  readonly token?: string;
}

/** EXTERNAL (RFC 5973 s3.7.2): a receiver reserves an external address and port at the edge NAT/firewall. */
export interface ExternalRequest {
  readonly op: 'external';
  /** Signalling destination address: beyond the edge, e.g. the data sender's (Appendix A). */
  readonly sda: string;
  readonly proto: string | number;
  /** The port the receiver listens on here (DR port). */
  readonly dport: number;
  /** The data sender, when known (default: any). */
  readonly dsAddress?: string;
  readonly dsPort?: number;
  readonly subPorts?: number;
  readonly action?: 'allow' | 'deny';
  readonly lifetime?: number;
  readonly token?: string;
}

export type ControlRequest =
  | { readonly op: 'ping' }
  | CreateRequest
  | ExternalRequest
  | { readonly op: 'teardown'; readonly session: string }
  | { readonly op: 'list' }
  | { readonly op: 'stats' }
  | { readonly op: 'events' };

export interface ControlErrorBody {
  readonly code: string;
  readonly message: string;
  readonly responseClass?: number;
  readonly responseCode?: number;
  readonly responseName?: string;
}

export interface PinholeJson {
  readonly id: string;
  readonly action: string;
  readonly protocol: number;
  readonly src: string;
  readonly srcPorts: string;
  readonly dst: string;
  readonly dstPorts: string;
}

export interface SessionJson {
  readonly session: string;
  readonly role: string;
  readonly kind: string;
  readonly state: string;
  readonly mri: unknown;
  readonly lifetime: number;
  /** Seconds until the session expires (unless refreshed). */
  readonly expiresIn: number;
  readonly pinholes: readonly (PinholeJson | { readonly id: string })[];
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const optInt = (o: Record<string, unknown>, k: string, min: number, max: number): Result<number | undefined, string> => {
  const v = o[k];
  if (v === undefined || v === null) return ok(undefined);
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) return err(`'${k}' must be an integer ${min}-${max}`);
  return ok(v);
};
const optStr = (o: Record<string, unknown>, k: string): Result<string | undefined, string> => {
  const v = o[k];
  if (v === undefined || v === null) return ok(undefined);
  if (typeof v !== 'string' || v === '') return err(`'${k}' must be a non-empty string`);
  return ok(v);
};

/** The fields CREATE and EXTERNAL share: protocol, sub_ports, lifetime, action, token. */
function commonFields(v: Record<string, unknown>): Result<Pick<CreateRequest, 'proto' | 'subPorts' | 'lifetime' | 'action' | 'token'>, string> {
  const proto = v.proto;
  if (!(typeof proto === 'string' && proto !== '') && !(typeof proto === 'number' && Number.isInteger(proto) && proto >= 0 && proto <= 255)) {
    return err("'proto' must be a protocol name or a number 0-255");
  }
  const subPorts = optInt(v, 'subPorts', 0, 255);
  if (!subPorts.ok) return subPorts;
  const lifetime = optInt(v, 'lifetime', 1, 0xffffffff);
  if (!lifetime.ok) return lifetime;
  const action = v.action;
  if (action !== undefined && action !== 'allow' && action !== 'deny') return err("'action' must be allow or deny");
  const token = optStr(v, 'token');
  if (!token.ok) return token;
  if (token.value !== undefined && !/^([0-9a-f]{2})+$/i.test(token.value)) return err("'token' must be hex");
  return ok({
    proto,
    ...(subPorts.value !== undefined ? { subPorts: subPorts.value } : {}),
    ...(lifetime.value !== undefined ? { lifetime: lifetime.value } : {}),
    ...(action !== undefined ? { action } : {}),
    ...(token.value !== undefined ? { token: token.value } : {}),
  });
}

/** Checks the shape of one decoded request line (the daemon trusts nothing it did not check). */
export function parseRequest(v: unknown): Result<ControlRequest, string> {
  if (!isObj(v)) return err('a request is a JSON object');
  switch (v.op) {
    case 'ping':
    case 'list':
    case 'stats':
    case 'events':
      return ok({ op: v.op });
    case 'teardown': {
      const s = v.session;
      if (typeof s !== 'string' || !/^[0-9a-f]{32}$/i.test(s)) return err("'session' must be a Session ID of 32 hex digits");
      return ok({ op: 'teardown', session: s.toLowerCase() });
    }
    case 'create': {
      const dst = optStr(v, 'dst');
      if (!dst.ok) return dst;
      if (dst.value === undefined) return err("'dst' is required");
      const src = optStr(v, 'src');
      if (!src.ok) return src;
      const dport = optInt(v, 'dport', 0, 65535);
      if (!dport.ok) return dport;
      const sport = optInt(v, 'sport', 0, 65535);
      if (!sport.ok) return sport;
      const common = commonFields(v);
      if (!common.ok) return common;
      return ok({
        op: 'create',
        dst: dst.value,
        ...common.value,
        ...(src.value !== undefined ? { src: src.value } : {}),
        ...(dport.value !== undefined ? { dport: dport.value } : {}),
        ...(sport.value !== undefined ? { sport: sport.value } : {}),
      });
    }
    case 'external': {
      const sda = optStr(v, 'sda');
      if (!sda.ok) return sda;
      if (sda.value === undefined) return err("'sda' is required");
      const dport = optInt(v, 'dport', 0, 65535);
      if (!dport.ok) return dport;
      if (dport.value === undefined) return err("'dport' is required");
      const dsAddress = optStr(v, 'dsAddress');
      if (!dsAddress.ok) return dsAddress;
      const dsPort = optInt(v, 'dsPort', 0, 65535);
      if (!dsPort.ok) return dsPort;
      const common = commonFields(v);
      if (!common.ok) return common;
      return ok({
        op: 'external',
        sda: sda.value,
        dport: dport.value,
        ...common.value,
        ...(dsAddress.value !== undefined ? { dsAddress: dsAddress.value } : {}),
        ...(dsPort.value !== undefined ? { dsPort: dsPort.value } : {}),
      });
    }
    default:
      return err(`unknown op ${JSON.stringify(v.op)} (ping, create, external, teardown, list, stats, events)`);
  }
}
