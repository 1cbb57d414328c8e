/**
 * `npm run bench [-- --filter <substring>]`: loads every compiled
 * `bench/*.bench.js` beside this file and runs the groups whose names match.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchGroup, BenchLine } from './harness';

function parseArgs(argv: string[]): { filter: string | undefined } {
  let filter: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--filter') {
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
  return { filter };
}

async function main(): Promise<void> {
  const { filter } = parseArgs(process.argv.slice(2));
  const files = readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.js'))
    .sort();
  const match = (name: string): boolean => filter === undefined || name.includes(filter);
  let ran = 0;
  for (const f of files) {
    const mod = (await import(join(__dirname, f))) as { benches?: BenchGroup[] };
    for (const group of mod.benches ?? []) {
      if (!group.names.some(match)) continue;
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
  if (ran === 0) process.stderr.write(`bench: no benchmark matches '${filter ?? ''}'\n`);
}

void main();
