/**
 * A fast index of one node's pinholes for the simulator's data-plane checks
 * (assertions ask "does this firewall let the flow's packets through?" many
 * times per second of virtual time). Host-to-host pinholes with a single
 * source port (or any) and at most a few destination ports are looked up by
 * exact key; every other pinhole is matched with the enforcement model's
 * reference `pinholeMatches`. The answer is the memory backend's: deny wins
 * over allow (test/sim/verdicts.test.ts compares the two on random sets).
 */
import { parsePacket, pinholeMatches } from '../enforcement/model';
import type { PacketKey, Pinhole } from '../enforcement/types';

const MAX_EXACT_PORTS = 4;

interface Count {
  allow: number;
  deny: number;
}

export class VerdictIndex {
  private readonly exact = new Map<string, Count>();
  private readonly wide = new Map<string, Pinhole>();
  private readonly exactKeys = new Map<string, string[]>();

  private keysOf(p: Pinhole): string[] | undefined {
    // Host-to-host pinholes only (a /32 or a /128 at both ends), keyed by the addresses' canonical text.
    if (p.src.length !== (p.src.address.includes(':') ? 128 : 32) || p.dst.length !== (p.dst.address.includes(':') ? 128 : 32)) return undefined;
    if (p.srcPorts !== undefined && p.srcPorts.from !== p.srcPorts.to) return undefined;
    const sp = p.srcPorts === undefined ? '*' : String(p.srcPorts.from);
    const base = `${p.protocol}|${p.src.address}|${sp}|${p.dst.address}|`;
    if (p.dstPorts === undefined) return [base + '*'];
    if (p.dstPorts.to - p.dstPorts.from + 1 > MAX_EXACT_PORTS) return undefined;
    const out: string[] = [];
    for (let port = p.dstPorts.from; port <= p.dstPorts.to; port++) out.push(base + port);
    return out;
  }

  add(p: Pinhole): void {
    const keys = this.keysOf(p);
    if (keys === undefined) {
      this.wide.set(p.id, p);
      return;
    }
    this.exactKeys.set(p.id, keys);
    for (const k of keys) {
      let c = this.exact.get(k);
      if (c === undefined) this.exact.set(k, (c = { allow: 0, deny: 0 }));
      c[p.action]++;
    }
  }

  remove(p: Pinhole): void {
    if (this.wide.delete(p.id)) return;
    const keys = this.exactKeys.get(p.id);
    if (keys === undefined) return;
    this.exactKeys.delete(p.id);
    for (const k of keys) {
      const c = this.exact.get(k);
      if (c === undefined) continue;
      c[p.action]--;
      if (c.allow === 0 && c.deny === 0) this.exact.delete(k);
    }
  }

  clear(): void {
    this.exact.clear();
    this.wide.clear();
    this.exactKeys.clear();
  }

  verdict(pkt: PacketKey): 'allow' | 'deny' | 'none' {
    let allow = false;
    const sps = pkt.srcPort === undefined ? ['*'] : [String(pkt.srcPort), '*'];
    const dps = pkt.dstPort === undefined ? ['*'] : [String(pkt.dstPort), '*'];
    for (const sp of sps) {
      for (const dp of dps) {
        const c = this.exact.get(`${pkt.protocol}|${pkt.src}|${sp}|${pkt.dst}|${dp}`);
        if (c === undefined) continue;
        if (c.deny > 0) return 'deny';
        if (c.allow > 0) allow = true;
      }
    }
    if (this.wide.size > 0) {
      const parsed = parsePacket(pkt);
      if (parsed !== undefined) {
        for (const p of this.wide.values()) {
          if (!pinholeMatches(p, parsed)) continue;
          if (p.action === 'deny') return 'deny';
          allow = true;
        }
      }
    }
    return allow ? 'allow' : 'none';
  }
}
