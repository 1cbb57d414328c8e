/**
 * `npm run bench [-- --filter <substring>]`: loads every compiled
 * `bench/*.bench.js` beside this file and runs the groups whose names match,
 * each file in a fresh node process (as JMH forks per benchmark): a figure
 * then does not depend on the heap, JIT state and garbage that the benchmarks
 * run before it left behind (the NATFW setup rate measured 8.7k/s after the
 * other groups in one process and 10.8k-11.0k/s alone).
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchGroup, BenchLine } from './harness';

function parseArgs(argv: string[]): { filter: string | undefined; file: string | undefined } {
  let filter: string | undefined;
  let file: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--file') {
      // Internal: the child process that runs one file's groups.
      file = argv[++i];
    } else if (a === '--filter') {
      filter = argv[++i];
      if (filter === undefined) {
        process.stderr.write('bench: --filter needs a substring\n');
        process.exit(2);
      }
    } else if (a.startsWith('--filter=')) {
      filter = a.slice('--filter='.length);
    } else {
      process.stderr.write(`bench: unknown argument '${a}' (usage: npm run bench -- [--filter <substring>])\n`);
      process.exit(2);
    }
  }
  return { filter, file };
}

/** Runs `file`'s matching groups in a child process; resolves when it has exited (a failure sets the exit code). */
function runInChild(file: string, filter: string | undefined): Promise<void> {
  return new Promise((resolve) => {
    const args = [...process.execArgv, __filename, '--file', file, ...(filter !== undefined ? ['--filter', filter] : [])];
    const child = spawn(process.execPath, args, { stdio: 'inherit' });
    child.on('exit', (code, signal) => {
      if (code !== 0) {
        process.stderr.write(`bench: ${file} ${signal !== null ? `was killed by ${signal}` : `exited with ${code}`}\n`);
        process.exitCode = 1;
      }
      resolve();
    });
  });
}

async function main(): Promise<void> {
  const { filter, file } = parseArgs(process.argv.slice(2));
  const files = readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.js') && (file === undefined || f === file))
    .sort();
  const match = (name: string): boolean => filter === undefined || name.includes(filter);
  let ran = 0;
  for (const f of files) {
    const mod = (await import(join(__dirname, f))) as { benches?: BenchGroup[] };
    const groups = (mod.benches ?? []).filter((g) => g.names.some(match));
    if (groups.length === 0) continue;
    if (file === undefined) {
      ran += groups.length;
      await runInChild(f, filter);
      continue;
    }
    for (const group of groups) {
      ran++;
      const emit = (line: BenchLine): void => {
        if (match(line.bench)) process.stdout.write(JSON.stringify(line) + '\n');
      };
      try {
        await group.run(emit);
      } catch (e) {
        process.stderr.write(`bench group [${group.names.join(', ')}] failed: ${(e as Error).stack ?? String(e)}\n`);
        process.exitCode = 1;
      }
    }
  }
  if (ran === 0 && file === undefined) process.stderr.write(`bench: no benchmark matches '${filter ?? ''}'\n`);
}

void main();
