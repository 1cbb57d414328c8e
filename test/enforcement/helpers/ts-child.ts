/**
 * Runs a TypeScript module of this repository in a separate Node process
 * (for tests that kill -9 a "daemon" or run the CLI in a namespace): a tiny
 * require hook transpiles .ts with the installed TypeScript compiler, no
 * build step. Transpiled files are cached by path, size and mtime, and the
 * compiler is loaded only on a cache miss, so repeated runs start fast.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';

export const TS_HOOK = `
const fs = require('fs'); const path = require('path'); const crypto = require('crypto'); const os = require('os');
const dir = path.join(os.tmpdir(), 'natfw-ts-cache-' + (process.getuid ? process.getuid() : 0));
fs.mkdirSync(dir, { recursive: true });
let ts;
require.extensions['.ts'] = (m, filename) => {
  const st = fs.statSync(filename);
  const key = crypto.createHash('sha1').update(filename + ':' + st.size + ':' + st.mtimeMs).digest('hex');
  const cached = path.join(dir, key + '.js');
  let code;
  try { code = fs.readFileSync(cached, 'utf8'); } catch {
    ts = ts || require('typescript');
    code = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true }, fileName: filename }).outputText;
    const tmp = cached + '.' + process.pid;
    fs.writeFileSync(tmp, code); fs.renameSync(tmp, cached);
  }
  m._compile(code, filename);
};
require(process.argv[1]);
`;

export function runTsChild(modulePath: string, args: string[]): ChildProcess {
  return spawn(process.execPath, ['-e', TS_HOOK, resolve(modulePath), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: resolve(__dirname, '../../..'),
  });
}
