/**
 * The one packet-filter rule an NFQUEUE-intercepting GIST node needs, added
 * on open and removed on close (and at process exit), only in the network
 * namespace the node runs in. iptables(-nft), because nft's own `queue`
 * statement is missing on the target kernel (CONFIG_NFT_QUEUE unset; notes
 * netfilter.md h). The rule sits in mangle PREROUTING, which sees a Query
 * before routing decides to forward it and before the TTL is decremented.
 *
 * IPv4: RFC 5971 s5.3.2.1 - UDP to the GIST port with a Router Alert option
 * of any value. The u32 match reads the option's type and length bytes
 * (94 04) right after the fixed header (IHL 6), because the kernel's own RA
 * parser (and nft `ip option ra`) only recognise value 0.
 * IPv6: s5.3.2.2 - UDP to the GIST port behind a Hop-by-Hop header that
 * carries option type 5 (router alert), any value.
 * `--queue-bypass`: when no interceptor listens, packets go on as normal.
 */
import { execFileSync } from 'node:child_process';
import { DriverError } from './errors';

export interface QueueRuleSpec {
  readonly ipVersion: 4 | 6;
  readonly queueNum: number;
  readonly gistPort: number;
}

export function queueRuleArgs(s: QueueRuleSpec): string[] {
  const match =
    s.ipVersion === 4 ? ['-m', 'u32', '--u32', '0>>24&0xF=6&&20>>16=0x9404'] : ['-m', 'hbh', '--hbh-opts', '5'];
  return [
    '-p',
    'udp',
    '--dport',
    String(s.gistPort),
    ...match,
    '-m',
    'comment',
    '--comment',
    `natfw-gist-q${s.queueNum}`,
    '-j',
    'NFQUEUE',
    '--queue-num',
    String(s.queueNum),
    '--queue-bypass',
  ];
}

function tool(v: 4 | 6): string {
  return v === 4 ? 'iptables' : 'ip6tables';
}

function run(args: string[], v: 4 | 6): void {
  execFileSync(tool(v), ['-w', '5', ...args], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 15_000 });
}

export function installQueueRule(s: QueueRuleSpec): void {
  // A node that was killed (no chance to clean up) left its rule behind: take such copies out
  // first, so a restart never stacks duplicates (bounded: at most 16).
  for (let i = 0; i < 16 && removeQueueRule(s); i++);
  try {
    run(['-t', 'mangle', '-I', 'PREROUTING', ...queueRuleArgs(s)], s.ipVersion);
  } catch (e) {
    const stderr = (e as { stderr?: Buffer }).stderr?.toString().trim() ?? (e as Error).message;
    throw new DriverError('DRIVER_FIREWALL', `${tool(s.ipVersion)}: cannot add the NFQUEUE rule: ${stderr} (needs CAP_NET_ADMIN)`);
  }
}

/** Removes the rule; true when it was there. Never throws. */
export function removeQueueRule(s: QueueRuleSpec): boolean {
  try {
    run(['-t', 'mangle', '-D', 'PREROUTING', ...queueRuleArgs(s)], s.ipVersion);
    return true;
  } catch {
    return false;
  }
}
