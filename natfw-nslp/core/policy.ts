/**
 * Local policy of a NATFW node (RFC 5973 s3.4 lifetimes, s3.6 policy
 * decisions, s4.2.4/s4.2.5 the codes to answer) and the mapping of a request's
 * MRI + NATFW_EFI to the policy rule (s3.1, Appendix D.2).
 */
import type { Mri } from '../../gist/types';
import type { PinholeAction, PortRange, Prefix } from '../../enforcement/types';
import { familyBits, prefixContains, prefixCovers } from './addr';
import type { ResponseName } from './codes';
import type { Efi } from './messages';

export interface NatfwPolicy {
  /** Largest lifetime granted (s); longer requests are lowered (s3.4 prefers lowering). */
  readonly maxLifetime: number;
  /** Smallest acceptable lifetime (s); shorter requests get 7/0x10. */
  readonly minLifetime: number;
  /** Refuse too-long lifetimes with 7/0x02 instead of lowering them. */
  readonly rejectTooBigLifetime?: boolean;
  /** Whether 'deny' rules may be installed (7/0x06 otherwise). */
  readonly allowDeny: boolean;
  /** IP protocols it opens; undefined = any (7/0x09 otherwise). */
  readonly protocols?: readonly number[];
  /** Destinations (flow receivers) it will open toward; undefined = any (5/0x02 otherwise, s3.6). */
  readonly destinations?: readonly Prefix[];
  /** Sources it will open from; undefined = any (5/0x02 otherwise). */
  readonly sources?: readonly Prefix[];
  /** Destination ports it will open; undefined = any (5/0x02 otherwise). */
  readonly dstPorts?: readonly PortRange[];
  /** Shortest source prefix accepted, in bits of an IPv4 address (IPv6: + 96); 7/0x0C otherwise. */
  readonly minSrcPrefixLength?: number;
  /** Shortest destination prefix accepted (as above); 7/0x0D otherwise. */
  readonly minDstPrefixLength?: number;
  /** Refuse a wildcard source port (7/0x0E). */
  readonly requireSrcPort?: boolean;
  /** Refuse a wildcard destination port (7/0x0F). */
  readonly requireDstPort?: boolean;
  /** ICMP types it opens when NATFW_ICMP_TYPES is present; undefined = any (7/0x0B otherwise). */
  readonly icmpTypes?: readonly number[];
  /** Destinations nobody may open (operator's static rules): 7/0x04 policy conflict. */
  readonly protectedDestinations?: readonly Prefix[];
  /** Most concurrent sessions; more get 4/0x01. */
  readonly maxSessions?: number;
}

export const defaultPolicy: NatfwPolicy = {
  maxLifetime: 3600,
  minLifetime: 1,
  allowDeny: true,
};

/** The NSLP-level policy rule (s3.1): what the enforcement interface gets, minus owner/expiry. */
export interface PolicyRule {
  readonly protocol: number;
  readonly src: Prefix;
  readonly srcPorts?: PortRange;
  readonly dst: Prefix;
  readonly dstPorts?: PortRange;
  readonly action: PinholeAction;
}

export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly name: ResponseName; readonly detail: string };

const fail = (name: ResponseName, detail: string): { ok: false; name: ResponseName; detail: string } => ({ ok: false, name, detail });

/** MRI (path-coupled, s4.3.1) + EFI -> policy rule, with the s4.2.4/s4.2.5 errors for what cannot be a rule. */
export function ruleFromMri(mri: Mri, efi: Efi): Checked<PolicyRule> {
  if (efi.ruleAction !== 1 && efi.ruleAction !== 2) return fail('UNKNOWN_RULE_ACTION', `rule action ${efi.ruleAction}`);
  if (efi.subPorts !== 0 && efi.subPorts !== 1) return fail('SUB_PORTS_NOT_PERMITTED', `sub_ports ${efi.subPorts}`);
  if (mri.mrm !== 'path-coupled') return fail('UNKNOWN_FIELD_VALUE', 'CREATE needs the path-coupled MRM (s4.3.1)');
  if (mri.protocol === undefined) return fail('PLAIN_IP_NOT_PERMITTED', 'MRI carries no IP protocol');
  const sp = mri.sourcePort;
  const dp = mri.destinationPort;
  if (efi.subPorts === 1 && dp !== undefined && dp >= 65535) return fail('SUB_PORTS_NOT_PERMITTED', 'port + 1 exceeds 65535');
  return {
    ok: true,
    value: {
      protocol: mri.protocol,
      src: { address: mri.sourceAddress, length: mri.sourcePrefix },
      srcPorts: sp !== undefined && sp !== 0 ? { from: sp, to: sp } : undefined,
      dst: { address: mri.destinationAddress, length: mri.destinationPrefix },
      // s4.2.4: sub_ports = 1 adds port + 1 (RTP/RTCP)
      dstPorts: dp !== undefined && dp !== 0 ? { from: dp, to: dp + efi.subPorts } : undefined,
      action: efi.ruleAction === 1 ? 'allow' : 'deny',
    },
  };
}

function minLen(p: Prefix, v4min: number | undefined): number | undefined {
  if (v4min === undefined) return undefined;
  return familyBits(p.address) === 32 ? v4min : v4min + 96;
}

/** s3.6 / s3.7.2 checks of the rule against local policy (lifetime is checked separately). */
export function checkRule(policy: NatfwPolicy, rule: PolicyRule, icmpTypes: readonly number[] | undefined): Checked<PolicyRule> {
  if (policy.protocols !== undefined && !policy.protocols.includes(rule.protocol)) {
    return fail('PROTOCOL_NOT_SUPPORTED', `protocol ${rule.protocol}`);
  }
  if (icmpTypes !== undefined && policy.icmpTypes !== undefined) {
    const bad = icmpTypes.find((t) => !policy.icmpTypes?.includes(t));
    if (bad !== undefined) return fail('ICMP_TYPE_NOT_PERMITTED', `ICMP type ${bad}`);
  }
  const ms = minLen(rule.src, policy.minSrcPrefixLength);
  if (ms !== undefined && rule.src.length < ms) return fail('SRC_RANGE_TOO_LARGE', `source /${rule.src.length}`);
  const md = minLen(rule.dst, policy.minDstPrefixLength);
  if (md !== undefined && rule.dst.length < md) return fail('DST_RANGE_TOO_LARGE', `destination /${rule.dst.length}`);
  if (policy.requireSrcPort === true && rule.srcPorts === undefined) return fail('SRC_PORT_RANGE_TOO_LARGE', 'source port wildcarded');
  if (policy.requireDstPort === true && rule.dstPorts === undefined) return fail('DST_PORT_RANGE_TOO_LARGE', 'destination port wildcarded');
  if (rule.action === 'deny' && !policy.allowDeny) return fail('RULE_ACTION_NOT_APPLICABLE', 'deny rules not allowed here');
  if (policy.destinations !== undefined && !policy.destinations.some((p) => prefixCovers(p, rule.dst))) {
    return fail('AUTHORIZATION_FAILED', `destination ${rule.dst.address}/${rule.dst.length} not permitted by local policy`);
  }
  if (policy.sources !== undefined && !policy.sources.some((p) => prefixCovers(p, rule.src))) {
    return fail('AUTHORIZATION_FAILED', `source ${rule.src.address}/${rule.src.length} not permitted by local policy`);
  }
  if (policy.dstPorts !== undefined) {
    const r = rule.dstPorts;
    if (r === undefined || !policy.dstPorts.some((a) => a.from <= r.from && r.to <= a.to)) {
      return fail('AUTHORIZATION_FAILED', 'destination port not permitted by local policy');
    }
  }
  if (policy.protectedDestinations?.some((p) => prefixContains(p, rule.dst.address) || prefixCovers(rule.dst, p))) {
    return fail('POLICY_CONFLICT', `destination ${rule.dst.address} is protected by a static rule`);
  }
  return { ok: true, value: rule };
}

/** s3.4: the lifetime this node accepts for a request (lowered, never raised), or the error to answer. */
export function grantLifetime(policy: NatfwPolicy, requested: number): Checked<number> {
  if (requested < policy.minLifetime) return fail('LIFETIME_TOO_SMALL', `${requested}s < ${policy.minLifetime}s`);
  if (requested > policy.maxLifetime) {
    if (policy.rejectTooBigLifetime === true) return fail('LIFETIME_TOO_BIG', `${requested}s > ${policy.maxLifetime}s`);
    return { ok: true, value: policy.maxLifetime };
  }
  return { ok: true, value: requested };
}

export function sameRule(a: PolicyRule | undefined, b: PolicyRule | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return (
    a.protocol === b.protocol &&
    a.action === b.action &&
    a.src.address === b.src.address &&
    a.src.length === b.src.length &&
    a.dst.address === b.dst.address &&
    a.dst.length === b.dst.length &&
    a.srcPorts?.from === b.srcPorts?.from &&
    a.srcPorts?.to === b.srcPorts?.to &&
    a.dstPorts?.from === b.dstPorts?.from &&
    a.dstPorts?.to === b.dstPorts?.to
  );
}
