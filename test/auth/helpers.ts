/** Shared fixtures for the authorization tests. */
import { decodeSessionAuth } from '../../natfw-nslp/auth/codec';
import type { AuthorizationRequest } from '../../natfw-nslp/auth/authorizer';
import { MemoryKeyStore } from '../../natfw-nslp/auth/keys';
import { issueToken, type IssueOptions } from '../../natfw-nslp/auth/token';
import { encodeNatfwMessage, type NatfwCreate } from '../../natfw-nslp/codec';
import type { PathCoupledMri } from '../../gist/types';

export const KEY7 = new Uint8Array(32).map((_, i) => i + 1);
export const KEY8 = new Uint8Array(32).map((_, i) => 200 - i);
export const T0 = Date.UTC(2026, 10, 23, 3, 0, 0);
export const HOUR = 3_600_000;

export const store = (): MemoryKeyStore =>
  new MemoryKeyStore([
    { keyId: 7, key: KEY7 },
    { keyId: 8, key: KEY8 },
  ]);

export function token(over: Partial<IssueOptions> = {}): Uint8Array {
  return issueToken({
    key: KEY7,
    keyId: 7,
    entityId: 'authority.natfw.test',
    src: [{ address: '198.18.1.0', length: 24 }],
    dst: [{ address: '198.19.0.7', length: 32 }],
    protocol: 17,
    dstPorts: { from: 5004, to: 5005 },
    notBefore: T0,
    notAfter: T0 + HOUR,
    ...over,
  });
}

export const SID_A = new Uint8Array(16).fill(0xa1);
export const SID_B = new Uint8Array(16).fill(0xb2);

export const mri = (over: Partial<PathCoupledMri> = {}): PathCoupledMri => ({
  mrm: 'path-coupled',
  ipVersion: 4,
  sourceAddress: '198.18.1.5',
  destinationAddress: '198.19.0.7',
  sourcePrefix: 32,
  destinationPrefix: 32,
  protocol: 17,
  sourcePort: 40000,
  destinationPort: 5004,
  direction: 'downstream',
  ...over,
});

/** A CREATE carrying the given raw SESSION_AUTH objects, and its bytes. */
export function createWith(raws: readonly Uint8Array[]): { msg: NatfwCreate; bytes: Uint8Array } {
  const sessionAuth = raws.map((r) => {
    const d = decodeSessionAuth(r);
    if (!d.ok) throw new Error(d.error.message);
    return d.value;
  });
  const msg: NatfwCreate = {
    type: 'CREATE',
    header: { messageType: 1, proxy: false, edge: false },
    lifetime: 30,
    efi: { ruleAction: 'allow', subPorts: 1 },
    msn: 1,
    sessionAuth,
    unknownObjects: [],
  };
  return { msg, bytes: encodeNatfwMessage(msg) };
}

/** The request an NF builds for a CREATE of 198.18.1.5:40000 -> 198.19.0.7:5004-5005/udp carrying `raws`. */
export function request(raws: readonly Uint8Array[], over: Partial<AuthorizationRequest> = {}, nslpBytes?: Uint8Array): AuthorizationRequest {
  const { msg, bytes } = createWith(raws);
  return {
    messageType: 'CREATE',
    sessionId: SID_A,
    mri: mri(),
    rule: { protocol: 17, src: { address: '198.18.1.5', length: 32 }, srcPorts: { from: 40000, to: 40000 }, dst: { address: '198.19.0.7', length: 32 }, dstPorts: { from: 5004, to: 5005 }, action: 'allow' },
    sessionAuth: msg.sessionAuth,
    nslpMessageBytes: nslpBytes ?? bytes,
    ...over,
  };
}
