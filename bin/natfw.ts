#!/usr/bin/env node
/**
 * `natfw <verb>`: the command line of natfw for end hosts, operators and researchers.
 * Each verb lives in `cli/<verb>.ts` and registers itself on the program.
 */
import { Command } from 'commander';
import { VERBS } from '../cli/verbs';

// `natfw decode --pcap big.pcap | head`: a reader that stops early is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

const program = new Command();
program
  .name('natfw')
  .description('NSIS NAT/Firewall signalling: decode captures, issue tokens, manage pinholes, simulate')
  .version(require('../../package.json').version as string)
  .showHelpAfterError(false)
  .configureOutput({
    // One line, naming the argument; exit status 2 (set by exitOverride below).
    outputError: (str, write) => write(str.split('\n')[0].replace(/^error: /, 'natfw: ') + '\n'),
  })
  .exitOverride((e) => {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') process.exit(0);
    process.exit(2);
  });

for (const register of VERBS) register(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  process.stderr.write(`natfw: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(2);
});
