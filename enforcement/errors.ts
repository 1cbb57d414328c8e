import { NatfwError } from '../common/errors';
import type { EnforcementErrorCode } from './types';

/**
 * Every failure of a pinhole set is one of these. `kernelMessage` carries what
 * netfilter (nft, iptables) said, verbatim, when the kernel refused a change.
 */
export class EnforcementError extends NatfwError {
  constructor(
    override readonly code: EnforcementErrorCode,
    message: string,
    readonly kernelMessage?: string,
  ) {
    super(code, message);
  }
}
