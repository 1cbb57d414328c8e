/**
 * The authorization hook called at NF and NR (RFC 5973 s3.6, RFC 5981): the
 * `SessionAuthorizer` of natfw-nslp/auth/authorizer.ts (CONTRACTS.md), whose
 * `HmacSessionAuthorizer` checks SESSION_AUTH tokens. Without one configured
 * the core accepts every request (`acceptAllAuthorizer`).
 */
import type { SessionAuthorizer } from '../auth/authorizer';

export type { AuthorizationRequest, AuthorizationResult, SessionAuthorizer } from '../auth/authorizer';

export const acceptAllAuthorizer: SessionAuthorizer = {
  authorize: () => ({ ok: true }),
};
