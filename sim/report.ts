/**
 * The report of a run: `report.json` (every figure, stable key order, no wall
 * clock, so that the same scenario and seed give the same file byte for byte)
 * and `report.html` (the same figures as tables and SVG charts with the
 * events marked; self-contained, no network needed to view it).
 */
import type { RunResult } from './engine';
import { distribution } from './metrics';

const r3 = (v: number): number => Math.round(v * 1000) / 1000;

export interface Report {
  scenario: { name: string; description: string; durationS: number; nodes: number; links: number; flows: number; generators: number; events: number };
  seed: number;
  stack: string;
  ok: boolean;
  simulatedEvents: number;
  messages: { total: number; byType: Record<string, number>; bytesByType: Record<string, number>; dropped: Record<string, number> };
  handshakes: number;
  sessions: {
    signalled: number;
    established: number;
    rejected: number;
    terminated: number;
    rejectedByCode: Record<string, number>;
    peakAtFirewalls: number;
    peakPinholes: number;
  };
  latencyMs: ReturnType<typeof distribution>;
  routeChanges: Array<{ atS: number; event: string; line: number; affectedFlows: number; repairedFlows: number; repairMs: number | null; perFlowRepairMs: ReturnType<typeof distribution> }>;
  stalePinholes: { lifetimeMs: ReturnType<typeof distribution>; stillThereAtEnd: number };
  series: {
    intervalS: number;
    t: number[];
    sessionsAtFirewalls: number[];
    pinholes: number[];
    messages: number[];
    activeFlows: number[];
    established: number[];
    perNode: Record<string, { sessions: number[]; pinholes: number[] }>;
  };
  timeline: Array<{ atS: number; kind: string; what: string }>;
  timelineTruncated: number;
  assertions: Array<{ id: string; kind: string; line: number; ok: boolean; checks: number; message: string; firstFailureAtS?: number }>;
}

const TIMELINE_MAX = 2000;

export function buildReport(r: RunResult): Report {
  const sc = r.scenario;
  const perNode: Report['series']['perNode'] = {};
  for (const s of r.samples) {
    for (const [id, v] of Object.entries(s.perNode)) {
      const e = perNode[id] ?? (perNode[id] = { sessions: [], pinholes: [] });
      e.sessions.push(v.sessions);
      e.pinholes.push(v.pinholes);
    }
  }
  return {
    scenario: {
      name: sc.name, description: sc.description, durationS: sc.durationMs / 1000, nodes: sc.nodes.length, links: sc.links.length,
      flows: sc.flows.length, generators: sc.generators.length, events: sc.events.length,
    },
    seed: r.seed,
    stack: r.stack,
    ok: r.assertions.every((a) => a.ok),
    simulatedEvents: r.events,
    messages: { total: r.messages.total(), byType: r.messages.toJSON(), bytesByType: r.bytes.toJSON(), dropped: r.drops.toJSON() },
    handshakes: r.handshakes,
    sessions: {
      signalled: r.flows.total, established: r.flows.established, rejected: r.flows.rejected, terminated: r.flows.terminated,
      rejectedByCode: r.flows.rejectedByCode.toJSON(), peakAtFirewalls: r.peakSessions, peakPinholes: r.peakPinholes,
    },
    latencyMs: distribution(r.latencies),
    routeChanges: r.routeChanges.map((c) => ({
      atS: r3(c.at / 1000), event: c.event, line: c.line, affectedFlows: c.affectedFlows, repairedFlows: c.repairedFlows,
      repairMs: c.repairMs === null ? null : r3(c.repairMs), perFlowRepairMs: distribution(c.flowRepairMs),
    })),
    stalePinholes: { lifetimeMs: distribution(r.staleLifetimes), stillThereAtEnd: r.staleOpen },
    series: {
      intervalS: sc.sampleIntervalMs / 1000,
      t: r.samples.map((s) => r3(s.t / 1000)),
      sessionsAtFirewalls: r.samples.map((s) => s.sessions),
      pinholes: r.samples.map((s) => s.pinholes),
      messages: r.samples.map((s) => s.messages),
      activeFlows: r.samples.map((s) => s.activeFlows),
      established: r.samples.map((s) => s.established),
      perNode,
    },
    timeline: r.timeline.slice(0, TIMELINE_MAX).map((e) => ({ atS: r3(e.at / 1000), kind: e.kind, what: e.what })),
    timelineTruncated: Math.max(0, r.timeline.length - TIMELINE_MAX),
    assertions: r.assertions.map((a) => ({
      id: a.id, kind: a.kind, line: a.line, ok: a.ok, checks: a.checks, message: a.message,
      ...(a.firstFailureAt !== undefined ? { firstFailureAtS: r3(a.firstFailureAt / 1000) } : {}),
    })),
  };
}

// ---- HTML

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

interface Series {
  name: string;
  values: number[];
}

/** A line chart as inline SVG: x = time (s), with dashed vertical lines at the scenario's events. */
/** The style sheet of the HTML reports (the simulator's and the testbed's). */
export const REPORT_STYLE = `
body{font-family:system-ui,sans-serif;margin:24px;max-width:1000px;color:#222}
table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}
th{background:#f3f3f3}.ok{color:#1a7f37;font-weight:bold}.bad{color:#c62828;font-weight:bold}
svg{display:block;margin:8px 0 18px;border:1px solid #eee}code{background:#f5f5f5;padding:1px 4px}
`;

export function lineChart(title: string, t: number[], series: Series[], marks: Array<{ atS: number; label: string }>, yLabel: string, xLabel = 'virtual time (s)'): string {
  const W = 860;
  const H = 260;
  const L = 60;
  const R = 150;
  const T = 28;
  const B = 36;
  const xMax = Math.max(1e-9, t.length > 0 ? t[t.length - 1] : 1);
  let yMax = 0;
  for (const s of series) for (const v of s.values) if (v > yMax) yMax = v;
  yMax = niceCeil(yMax);
  const x = (v: number): number => L + (v / xMax) * (W - L - R);
  const y = (v: number): number => H - B - (yMax === 0 ? 0 : (v / yMax) * (H - T - B));
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">`);
  parts.push(`<text x="${L}" y="18" font-size="14" font-weight="bold">${esc(title)}</text>`);
  parts.push(`<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#333"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#333"/>`);
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    parts.push(`<line x1="${L - 4}" y1="${y(v)}" x2="${W - R}" y2="${y(v)}" stroke="#eee"/><text x="${L - 6}" y="${y(v) + 4}" font-size="10" text-anchor="end">${fmt(v)}</text>`);
  }
  for (let i = 0; i <= 5; i++) {
    const v = (xMax * i) / 5;
    parts.push(`<text x="${x(v)}" y="${H - B + 14}" font-size="10" text-anchor="middle">${fmt(v)}s</text>`);
  }
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - 6}" font-size="11" text-anchor="middle">${esc(xLabel)}</text>`);
  parts.push(`<text x="14" y="${(T + H - B) / 2}" font-size="11" text-anchor="middle" transform="rotate(-90 14 ${(T + H - B) / 2})">${esc(yLabel)}</text>`);
  marks.forEach((m, i) => {
    const mx = x(m.atS);
    parts.push(`<line x1="${mx}" y1="${T}" x2="${mx}" y2="${H - B}" stroke="#999" stroke-dasharray="4 3"/><text x="${mx + 3}" y="${T + 10 + (i % 3) * 11}" font-size="9" fill="#555">${esc(m.label)}</text>`);
  });
  series.forEach((s, i) => {
    const c = PALETTE[i % PALETTE.length];
    const step = Math.max(1, Math.floor(s.values.length / 1500));
    const pts: string[] = [];
    for (let k = 0; k < s.values.length; k += step) pts.push(`${x(t[k]).toFixed(1)},${y(s.values[k]).toFixed(1)}`);
    parts.push(`<polyline fill="none" stroke="${c}" stroke-width="1.6" points="${pts.join(' ')}"/>`);
    parts.push(`<rect x="${W - R + 10}" y="${T + i * 16}" width="10" height="10" fill="${c}"/><text x="${W - R + 24}" y="${T + i * 16 + 9}" font-size="11">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

function niceCeil(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmt(v: number): string {
  if (Math.abs(v) >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (Math.abs(v) >= 1e4) return `${(v / 1e3).toFixed(0)}k`;
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

function table(head: string[], rows: Array<Array<string | number | null>>): string {
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${esc(c === null ? '—' : String(c))}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

export function renderHtml(rep: Report): string {
  const s = rep.series;
  const marks = rep.timeline
    .filter((e) => ['link_down', 'link_up', 'metric', 'crash', 'restart', 'loss_burst', 'teardown'].includes(e.kind))
    .slice(0, 40)
    .map((e) => ({ atS: e.atS, label: `${e.kind} ${e.what}` }));
  const nodeIds = Object.keys(s.perNode)
    .sort((a, b) => Math.max(...s.perNode[b].pinholes, 0) - Math.max(...s.perNode[a].pinholes, 0) || (a < b ? -1 : 1))
    .slice(0, 10);
  const charts = [
    lineChart('Pinholes and signalling sessions at firewalls and NATs', s.t, [
      { name: 'pinholes', values: s.pinholes },
      { name: 'sessions', values: s.sessionsAtFirewalls },
    ], marks, 'count'),
    lineChart('Flows', s.t, [
      { name: 'active', values: s.activeFlows },
      { name: 'established', values: s.established },
    ], marks, 'flows'),
    lineChart(`Signalling messages per ${s.intervalS}s`, s.t, [{ name: 'messages', values: s.messages }], marks, 'messages'),
    nodeIds.length > 0
      ? lineChart('Pinholes per node (the busiest 10)', s.t, nodeIds.map((id) => ({ name: id, values: s.perNode[id].pinholes })), marks, 'pinholes')
      : '',
  ];
  const lat = rep.latencyMs;
  const stale = rep.stalePinholes.lifetimeMs;
  const status = rep.ok ? '<span class="ok">all assertions hold</span>' : '<span class="bad">an assertion failed</span>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>natfw sim: ${esc(rep.scenario.name)}</title>
<style>${REPORT_STYLE}</style></head><body>
<h1>natfw sim: ${esc(rep.scenario.name)}</h1>
<p>${esc(rep.scenario.description)}</p>
<p>${status}. Seed <code>${rep.seed}</code>, protocol stack <code>${esc(rep.stack)}</code>, ${rep.scenario.durationS}s of virtual time,
${rep.scenario.nodes} nodes, ${rep.scenario.links} links, ${rep.simulatedEvents} simulated events.</p>
<h2>Assertions</h2>
${table(['', 'id', 'kind', 'line', 'checks', 'result'], rep.assertions.map((a) => [a.ok ? '✔' : '✘', a.id, a.kind, a.line, a.checks, a.message]))}
<h2>Over time</h2>
${charts.join('\n')}
<h2>Signalling</h2>
${table(['message', 'count', 'bytes'], Object.keys(rep.messages.byType).map((k) => [k, rep.messages.byType[k], rep.messages.bytesByType[k] ?? 0]))}
<p>${rep.messages.total} messages, ${rep.handshakes} GIST handshakes; dropped: ${esc(JSON.stringify(rep.messages.dropped))}.</p>
${table(['sessions signalled', 'established', 'rejected', 'terminated', 'peak at firewalls', 'peak pinholes'], [[rep.sessions.signalled, rep.sessions.established, rep.sessions.rejected, rep.sessions.terminated, rep.sessions.peakAtFirewalls, rep.sessions.peakPinholes]])}
<h3>Signalling latency (request to successful RESPONSE at the initiator, ms)</h3>
${table(['count', 'min', 'p50', 'p90', 'p99', 'max'], [[lat.count, lat.min, lat.p50, lat.p90, lat.p99, lat.max]])}
<h2>Route changes</h2>
${table(['at (s)', 'event', 'flows affected', 'repaired', 'repair time (ms)', 'per-flow p50', 'per-flow max'], rep.routeChanges.map((c) => [c.atS, c.event, c.affectedFlows, c.repairedFlows, c.repairMs, c.perFlowRepairMs.p50, c.perFlowRepairMs.max]))}
<h3>Stale pinholes (left on a path the flow no longer takes, ms)</h3>
${table(['count', 'p50', 'p90', 'max', 'still there at the end'], [[stale.count, stale.p50, stale.p90, stale.max, rep.stalePinholes.stillThereAtEnd]])}
<h2>Timeline</h2>
${table(['at (s)', 'event', 'what'], rep.timeline.slice(0, 500).map((e) => [e.atS, e.kind, e.what]))}
${rep.timeline.length > 500 || rep.timelineTruncated > 0 ? '<p>(timeline truncated; report.json has more)</p>' : ''}
</body></html>
`;
}
