/**
 * Typed errors of the real GIST driver (sockets, interception, firewall rules).
 * `code` names what failed; `errno` is the OS error number when a syscall failed.
 */
import { NatfwError } from '../../common/errors';

export type DriverErrorCode =
  | 'DRIVER_SOCKET' // socket()/bind()/setsockopt() failed
  | 'DRIVER_SEND' // sendto() failed with something other than EAGAIN
  | 'DRIVER_NEEDS_PRIVILEGE' // EPERM/EACCES: root, CAP_NET_RAW, CAP_NET_ADMIN or CAP_NET_BIND_SERVICE needed
  | 'DRIVER_MISSING_ADDON' // an optional native addon (nfqueue, raw-socket) is not installed
  | 'DRIVER_FIREWALL' // installing or removing the interception rule failed
  | 'DRIVER_CLOSED' // the driver or transport was closed
  | 'DRIVER_BAD_ADDRESS' // not an IPv4/IPv6 literal
  | 'DRIVER_ROUTES'; // reading or following the kernel routing table (`ip -j route`, `ip monitor`) failed

export class DriverError extends NatfwError {
  constructor(
    override readonly code: DriverErrorCode,
    message: string,
    readonly errno?: number,
  ) {
    super(code, message);
  }
}

export const EPERM = 1;
export const EACCES = 13;
export const EAGAIN = 11;
export const EINVAL = 22;
export const EMSGSIZE = 90;

export function privilegeHint(errno: number | undefined): string {
  return errno === EPERM || errno === EACCES ? ' (needs root or the capability named in the README: CAP_NET_RAW / CAP_NET_ADMIN / CAP_NET_BIND_SERVICE)' : '';
}
