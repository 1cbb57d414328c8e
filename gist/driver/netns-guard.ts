/**
 * Guard for code that changes the packet filter: tests and benchmarks must
 * only ever touch namespaces they created (DESIGN.md). Firewall rules are
 * installed only when this process runs inside a named network namespace
 * (one of /run/netns/*, as `ip netns exec` gives), unless the caller says the
 * current namespace is fine (a real router running natfwd).
 */
import { readdirSync, statSync } from 'node:fs';

export function currentNamedNetns(): string | undefined {
  let self: number;
  try {
    self = statSync('/proc/self/ns/net').ino;
  } catch {
    return undefined;
  }
  for (const dir of ['/run/netns', '/var/run/netns']) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names) {
      try {
        if (statSync(`${dir}/${n}`).ino === self) return n;
      } catch {
        /* raced with a deletion */
      }
    }
  }
  return undefined;
}
