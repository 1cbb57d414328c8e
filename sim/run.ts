/** Running a scenario file end to end: parse, simulate, write the report (and the capture). */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { err, ok, type Result } from '../common/result';
import { Simulation, type RunResult } from './engine';
import { SimCapture } from './pcap';
import { buildReport, renderHtml, type Report } from './report';
import { parseScenario } from './scenario/parse';
import type { Scenario } from './scenario/types';
import { ScenarioError } from './scenario/values';
import type { WorldFactory } from './stack';

export interface SimRunOptions {
  readonly seed?: number;
  readonly sizeFactor?: number;
  readonly stack: { readonly name: string; readonly factory: WorldFactory };
  readonly out?: string;
  readonly pcap?: string;
  readonly onProgress?: (simNow: number, durationMs: number) => void;
}

export interface SimRunOutput {
  readonly scenario: Scenario;
  readonly result: RunResult;
  readonly report: Report;
  readonly files: string[];
  readonly capturedPackets?: number;
}

export function loadScenario(file: string, sizeFactor?: number): Result<Scenario, ScenarioError> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return err(new ScenarioError(1, 1, `cannot read the file: ${(e as Error).message}`, file));
  }
  return parseScenario(text, { file, sizeFactor });
}

export async function runScenario(scenario: Scenario, opts: SimRunOptions): Promise<SimRunOutput> {
  const capture = opts.pcap !== undefined ? new SimCapture() : undefined;
  const sim = new Simulation(scenario, {
    seed: opts.seed,
    world: opts.stack.factory,
    stackName: opts.stack.name,
    onPacket: capture === undefined ? undefined : (now, pkt) => capture.add(now, pkt),
    onProgress: opts.onProgress,
  });
  const result = await sim.run();
  const report = buildReport(result);
  const files: string[] = [];
  if (opts.out !== undefined) {
    mkdirSync(opts.out, { recursive: true });
    const j = join(opts.out, 'report.json');
    const h = join(opts.out, 'report.html');
    writeFileSync(j, reportJson(report));
    writeFileSync(h, renderHtml(report));
    files.push(j, h);
  }
  if (capture !== undefined && opts.pcap !== undefined) {
    writeFileSync(opts.pcap, capture.bytes());
    files.push(opts.pcap);
  }
  return { scenario, result, report, files, capturedPackets: capture?.packets };
}

export function reportJson(report: Report): string {
  return JSON.stringify(report, null, 1) + '\n';
}

export async function runScenarioFile(file: string, opts: SimRunOptions): Promise<Result<SimRunOutput, ScenarioError>> {
  const sc = loadScenario(file, opts.sizeFactor);
  if (!sc.ok) return sc;
  return ok(await runScenario(sc.value, opts));
}
