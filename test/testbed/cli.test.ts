/**
 * `natfw testbed run` refusals, before any namespace is made (no root needed):
 * one line, exit 2, naming the file and line.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = join(__dirname, '../../dist/bin/natfw.js');
const natfw = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });

describe('natfw testbed run: bad input', () => {
  it('refuses a scenario part only the simulator runs, naming its line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'natfw-tb-cli-'));
    try {
      const voip = readFileSync(join(__dirname, '../../sim/scenarios/voip.yaml'), 'utf8');
      const line = voip.split('\n').findIndex((l) => l.includes('kind: calls')) + 1;
      const fast = join(dir, 'fast.yaml');
      // 40 calls a second for 10 s: 1,600 sessions, about 160 a second.
      writeFileSync(fast, voip.replace('rate: 2/s', 'rate: 40/s').replace('stop: 100s', 'stop: 10s'));
      const r = natfw(['testbed', 'run', fast]);
      expect(r.status).toBe(2);
      expect(r.stderr.startsWith(`natfw: ${fast}:${line}: `)).toBe(true);
      expect(r.stderr).toMatch(/: generator 'call' starts \d+ sessions within one second at [\d.]+s; the testbed of real daemons starts at most 100 per second \(only in the simulator\)\n$/);
      const big = join(dir, 'big.yaml');
      writeFileSync(big, voip.replace('  - { id: sb4, role: host }', '  - { id: sb4, role: host }\n' + Array.from({ length: 60 }, (_, i) => `  - { id: x${i}, role: host }`).join('\n')));
      const b = natfw(['testbed', 'run', big]);
      expect(b.status).toBe(2);
      expect(b.stderr).toMatch(/^natfw: .*big\.yaml:\d+: a topology of more than 64 nodes is not supported on the testbed of real daemons \(only in the simulator\)\n$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a bad scenario file with the simulator parser\'s message, and a bad --slack', () => {
    const missing = natfw(['testbed', 'run', '/nonexistent/x.yaml']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/^natfw: \/nonexistent\/x\.yaml:1:1: cannot read the file/);
    const slack = natfw(['testbed', 'run', join(__dirname, '../fixtures/testbed/route-flip.yaml'), '--slack', 'soon']);
    expect(slack.status).not.toBe(0);
    expect(slack.stderr).toMatch(/--slack must be seconds between 0 and 60, got 'soon'/);
  });

  it('has --help', () => {
    const r = natfw(['testbed', 'run', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--out <dir>[\s\S]*--slack <s>[\s\S]*--log-level/);
  });
});
