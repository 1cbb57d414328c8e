/**
 * The authorization hook called at NF and NR (RFC 5973 s3.6, RFC 5981), with
 * the shape CONTRACTS.md fixes for natfw-nslp/auth/authorizer.ts. Until that
 * module lands the core uses `acceptAllAuthorizer`; any object of the same
 * shape can be passed in the node config.
 */
import type { Mri } from '../../gist/types';
import type { PortRange, Prefix } from '../../enforcement/types';
import type { SessionAuthObject } from '../codec';

export interface AuthorizationRequest {
  readonly messageType: 'CREATE' | 'EXTERNAL';
  readonly sessionId: Uint8Array;
  readonly mri: Mri;
  readonly rule: {
    readonly protocol: number;
    readonly src: Prefix;
    readonly srcPorts?: PortRange;
    readonly dst: Prefix;
    readonly dstPorts?: PortRange;
    readonly action: 'allow' | 'deny';
  };
  /** SESSION_AUTH objects as the codec decoded them. */
  readonly sessionAuth: readonly SessionAuthObject[];
  readonly nslpMessageBytes: Uint8Array;
}

export type AuthorizationResult =
  | { readonly ok: true; readonly entityId?: string }
  | {
      readonly ok: false;
      readonly reason: string;
      readonly responseClass: number;
      readonly responseCode: number;
      readonly message: string;
    };

export interface SessionAuthorizer {
  authorize(now: number, req: AuthorizationRequest): AuthorizationResult;
}

export const acceptAllAuthorizer: SessionAuthorizer = {
  authorize: () => ({ ok: true }),
};
