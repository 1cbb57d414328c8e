/**
 * Runs a TypeScript module of this repository in a separate Node process
 * (for tests that must kill -9 a "daemon"): a tiny require hook transpiles
 * .ts with the installed TypeScript compiler, no build step.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';

const HOOK = `
const ts = require('typescript'); const fs = require('fs');
require.extensions['.ts'] = (m, filename) => {
  const out = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true }, fileName: filename });
  m._compile(out.outputText, filename);
};
require(process.argv[1]);
`;

export function runTsChild(modulePath: string, args: string[]): ChildProcess {
  return spawn(process.execPath, ['-e', HOOK, resolve(modulePath), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: resolve(__dirname, '../../..'),
  });
}
