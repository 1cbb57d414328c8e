/**
 * Runs the natfw verbs from source in a child process (like bin/natfw.ts,
 * minus the version lookup in the built package), so CLI tests need no build.
 */
import { Command } from 'commander';
import { VERBS } from '../../../cli/verbs';

const program = new Command();
program
  .name('natfw')
  .configureOutput({ outputError: (str, write) => write(str.split('\n')[0].replace(/^error: /, 'natfw: ') + '\n') })
  .exitOverride((e) => {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help') process.exit(0);
    process.exit(2);
  });
for (const register of VERBS) register(program);
const i = process.argv.indexOf('--');
program.parseAsync(['node', 'natfw', ...process.argv.slice(i + 1)]).catch((e: unknown) => {
  process.stderr.write(`natfw: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(2);
});
