/**
 * Router Alert Option bytes for GIST Q-mode (RFC 5971 s5.3.2.1/s5.3.2.2).
 *
 * Which value a Query carries is the core's choice (GistNodeConfig.routerAlertFor,
 * default: NATFW's registered 65 / 68, RFC 5973 s7.5). Linux only hands RAO
 * value 0 to IP_ROUTER_ALERT sockets, but the default interceptor (NFQUEUE with
 * a u32 match on the option's type and length bytes, iptables.ts) catches every
 * value, so the registered value works end to end. A network whose
 * intercepting nodes use the raw IP_ROUTER_ALERT fallback must configure its
 * senders with value 0 (`routerAlertFor: () => 0`). Appendix C: non-zero IPv4
 * values make interception cheaper for nodes that look at the value and change
 * nothing for the others.
 */

/** RFC 2113: type 148 (copied flag 1, class 0, number 20), length 4, 16-bit value. */
export const IPV4_RAO_TYPE = 0x94;
/** RFC 2711: hop-by-hop option type 5 (action 00, change 0), data length 2. */
export const IPV6_RAO_TYPE = 0x05;

/** The IPv4 option bytes for IP_OPTIONS: 94 04 hi lo (makes IHL 6). */
export function ipv4RouterAlertOption(value: number): Uint8Array {
  return new Uint8Array([IPV4_RAO_TYPE, 4, (value >> 8) & 0xff, value & 0xff]);
}

/**
 * A whole IPv6 Hop-by-Hop Options header carrying the RAO, for IPV6_HOPOPTS:
 * next header (filled in by the kernel), Hdr Ext Len 0 (8 octets), RAO
 * 05 02 hi lo, then PadN 01 00 to the 8-octet boundary (RFC 8200 s4.2).
 */
export function ipv6HopByHopRouterAlert(value: number): Uint8Array {
  return new Uint8Array([0, 0, IPV6_RAO_TYPE, 2, (value >> 8) & 0xff, value & 0xff, 1, 0]);
}
