/**
 * Conventions shared by every `natfw` verb:
 * - bad arguments: one line naming the argument, exit 2 (`UsageError`);
 * - an operation that failed (bad input file, kernel refusal, failed check): one line, exit 1 (`CliFailure`);
 * - `--json` output is one JSON object per line on stdout.
 */
import { InvalidArgumentError } from 'commander';
import { NatfwError } from '../common/errors';

export class CliUsageError extends NatfwError {
  constructor(message: string) {
    super('CLI_USAGE', message);
  }
}

export class CliFailure extends NatfwError {
  constructor(message: string, code = 'CLI_FAILURE') {
    super(code, message);
  }
}

/** Wraps a verb's action so that errors become one line on stderr and the right exit status. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      fail(e);
    }
  };
}

export function fail(e: unknown): never {
  if (e instanceof CliUsageError) {
    process.stderr.write(`natfw: ${e.message}\n`);
    process.exit(2);
  }
  if (e instanceof NatfwError) {
    process.stderr.write(`natfw: ${e.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`natfw: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(70);
}

/** commander argument parser for an integer within bounds. */
export function intArg(name: string, min: number, max: number): (v: string) => number {
  return (v: string) => {
    if (!/^-?\d+$/.test(v)) throw new InvalidArgumentError(`${name} must be an integer, got '${v}'`);
    const n = Number(v);
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be between ${min} and ${max}, got ${n}`);
    return n;
  };
}
