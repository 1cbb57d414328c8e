/**
 * `natfw testbed run` refusals, before any namespace is made (no root needed):
 * one line, exit 2, naming the file and line.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const BIN = join(__dirname, '../../dist/bin/natfw.js');
const natfw = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });

describe('natfw testbed run: bad input', () => {
  it('refuses a scenario part only the simulator runs, naming its line', () => {
    const r = natfw(['testbed', 'run', join(__dirname, '../../sim/scenarios/voip.yaml')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^natfw: .*voip\.yaml:\d+: generator '[^']+' \(calls\) is not supported on the testbed of real daemons \(only in the simulator\)\n$/);
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
