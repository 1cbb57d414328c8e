/** Runs `natfw testbed run` on a fixture, as the testbed's netns tests do (not a test file itself). */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { join } from 'node:path';

const BIN = join(__dirname, '../../dist/bin/natfw.js');

/** `natfw testbed run test/fixtures/testbed/<fixture> --out <out> --quiet`, killed after `timeoutMs`. */
export function runTestbedFixture(fixture: string, out: string, timeoutMs: number): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [BIN, 'testbed', 'run', join(__dirname, '../fixtures/testbed', fixture), '--out', out, '--quiet'], { encoding: 'utf8', timeout: timeoutMs });
}

/** The namespaces a `natfw testbed run` with this PID made (NetnsLab names them nftbd<pid>x...); other tests run beside this one. */
export function namespacesOf(pid: number | undefined): string[] {
  return spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n.startsWith(`nftbd${(pid ?? 0) % 100000}x`));
}
