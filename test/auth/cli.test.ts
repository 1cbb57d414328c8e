/**
 * `natfw token`: the verb functions in-process, and the real CLI
 * (dist/bin/natfw.js, built by `npm ci`/`npm run build`) for exit statuses and
 * one-line errors. The CLI part skips, saying why, when dist/ is missing or
 * older than the sources.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueVerb, parsePortRange, parsePrefix, parseTime, readTokenFile, verifyVerb } from '../../cli/token';
import { generateKeyFile } from '../../daemon/auth-keys';

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'dist', 'bin', 'natfw.js');
const NOW = Date.UTC(2026, 10, 23, 3, 0, 0);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'natfw-token-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const issueBase = { keyId: 7, src: ['198.18.1.0/24'], dst: ['198.19.0.7'], proto: 'udp', dport: '5004', transform: 'sha256' };

describe('natfw token verbs (in-process)', () => {
  it('argument parsers', () => {
    expect(parsePrefix('--src', '198.18.1.0/24')).toEqual({ address: '198.18.1.0', length: 24 });
    expect(parsePrefix('--src', '2001:DB8::1')).toEqual({ address: '2001:db8::1', length: 128 });
    expect(() => parsePrefix('--src', '198.18.1.0/40')).toThrow('--src');
    expect(parsePortRange('--dport', '5004-5010')).toEqual({ from: 5004, to: 5010 });
    expect(() => parsePortRange('--dport', '5010-5004')).toThrow('--dport');
    expect(parseTime('--at', '+2h', NOW)).toBe(NOW + 7_200_000);
    expect(parseTime('--at', '2026-11-23T04:00:00Z', NOW)).toBe(NOW + 3_600_000);
    expect(parseTime('--at', '1795399200', NOW)).toBe(1795399200_000);
    expect(() => parseTime('--at', 'tomorrow', NOW)).toThrow('--at');
  });

  it('issue, show, verify: ok, then each refusal with its reason', () => {
    expect(generateKeyFile(join(dir, 'keys'), 7).ok).toBe(true);
    const keys = join(dir, 'keys');
    const out = join(dir, 't.tok');
    issueVerb({ ...issueBase, keys, out, entId: 'ops.natfw.test' }, NOW);
    expect(readFileSync(out, 'utf8')).toMatch(/^8016[0-9a-f]+\n$/);
    const { token } = readTokenFile(out);
    expect(token).toMatchObject({ keyId: 7, transformId: 12, entityId: 'ops.natfw.test', protocol: 17, notBefore: NOW, notAfter: NOW + 3_600_000 });
    const v = { keys, skew: '30' };
    expect(verifyVerb(out, { ...v, src: '198.18.1.9', dst: '198.19.0.7', proto: 'udp', dport: '5004' }, NOW + 1000)).toMatchObject({ ok: true });
    expect(verifyVerb(out, { ...v, dport: '5004-5010' }, NOW)).toMatchObject({ ok: false, reason: 'not-covered' });
    expect(verifyVerb(out, { ...v, dst: '198.19.0.8' }, NOW)).toMatchObject({ ok: false, reason: 'not-covered' });
    expect(verifyVerb(out, { ...v, proto: 'tcp' }, NOW)).toMatchObject({ ok: false, reason: 'not-covered' });
    expect(verifyVerb(out, { ...v, at: '+2h' }, NOW)).toMatchObject({ ok: false, reason: 'expired' });
    expect(verifyVerb(out, { ...v, at: '-1h' }, NOW)).toMatchObject({ ok: false, reason: 'not-yet-valid' });
    // the raw binary form reads too
    writeFileSync(join(dir, 't.bin'), Buffer.from(readFileSync(out, 'utf8').trim(), 'hex'));
    expect(verifyVerb(join(dir, 't.bin'), v, NOW)).toMatchObject({ ok: true });
    // another key directory whose key 7 differs: bad MAC; one without key 7: unknown key
    expect(generateKeyFile(join(dir, 'other'), 7).ok).toBe(true);
    expect(verifyVerb(out, { ...v, keys: join(dir, 'other') }, NOW)).toMatchObject({ ok: false, reason: 'bad-mac' });
    expect(generateKeyFile(join(dir, 'eight'), 8).ok).toBe(true);
    expect(verifyVerb(out, { ...v, keys: join(dir, 'eight') }, NOW)).toMatchObject({ ok: false, reason: 'unknown-key' });
  });

  it('--not-after relative to --not-before; ports need udp or tcp', () => {
    expect(generateKeyFile(join(dir, 'k'), 1).ok).toBe(true);
    const r = issueVerb({ ...issueBase, keyId: 1, keys: join(dir, 'k'), notBefore: '+1h', notAfter: '+30m' }, NOW);
    writeFileSync(join(dir, 'x.tok'), r.hex);
    expect(readTokenFile(join(dir, 'x.tok')).token).toMatchObject({ notBefore: NOW + 3_600_000, notAfter: NOW + 5_400_000 });
    expect(() => issueVerb({ ...issueBase, keyId: 1, keys: join(dir, 'k'), proto: '132' }, NOW)).toThrow('--dport/--sport need --proto udp or tcp');
  });
});

/** Sources newer than their compiled files mean dist/ is stale. */
function distStaleReason(): string | undefined {
  if (!existsSync(BIN)) return `${BIN} missing (run npm run build)`;
  const pairs: Array<[string, string]> = [
    ['cli/token.ts', 'dist/cli/token.js'],
    ['daemon/auth-keys.ts', 'dist/daemon/auth-keys.js'],
  ];
  for (const d of ['natfw-nslp/auth', 'natfw-nslp/codec'])
    for (const f of readdirSync(join(ROOT, d))) if (f.endsWith('.ts')) pairs.push([`${d}/${f}`, `dist/${d}/${f.replace(/\.ts$/, '.js')}`]);
  for (const [src, out] of pairs) {
    const o = join(ROOT, out);
    if (!existsSync(o) || statSync(o).mtimeMs < statSync(join(ROOT, src)).mtimeMs) return `${out} is older than ${src} (run npm run build)`;
  }
  return undefined;
}

const stale = distStaleReason();
const describeCli = stale === undefined ? describe : describe.skip;
if (stale !== undefined) process.stdout.write(`skipping natfw token CLI tests: ${stale}\n`);

describeCli('natfw token (dist/bin/natfw.js)', () => {
  const run = (...args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, 'token', ...args], { encoding: 'utf8', timeout: 20_000 });
    return { status: r.status, out: r.stdout, err: r.stderr };
  };

  it('keygen, issue, show, verify: exit 0; refusals exit 1 with the reason in one line', () => {
    const keys = join(dir, 'keys');
    const tok = join(dir, 't.tok');
    expect(run('keygen', '--key-id', '7', '--out', keys).status).toBe(0);
    expect(statSync(join(keys, '7.key')).mode & 0o777).toBe(0o600);
    expect(run('issue', '--keys', keys, '--key-id', '7', '--src', '198.18.1.0/24', '--dst', '198.19.0.7', '--proto', 'udp', '--dport', '5004', '--out', tok).status).toBe(0);
    const show = run('show', tok);
    expect(show.status).toBe(0);
    expect(JSON.parse(show.out)).toMatchObject({ keyId: 7, src: ['198.18.1.0/24'], dst: ['198.19.0.7/32'], protocol: 17, dstPorts: { udp: '5004' } });
    const ok = run('verify', '--keys', keys, tok, '--src', '198.18.1.1', '--dst', '198.19.0.7', '--proto', 'udp', '--dport', '5004');
    expect(ok.status).toBe(0);
    expect(ok.out).toContain(': ok (Key-ID 7');
    const wide = run('verify', '--keys', keys, tok, '--dport', '5004-5010');
    expect(wide.status).toBe(1);
    expect(wide.err).toMatch(/^natfw: token .*: not-covered: flow: destination port 5005 is not granted\n$/);
    const late = run('verify', '--keys', keys, tok, '--at', '+3h');
    expect([late.status, late.err.split('\n').length]).toEqual([1, 2]);
    expect(late.err).toContain('expired');
  });

  it('a missing key directory, a bad key file and a malformed token file: one line naming the file, exit 1', () => {
    const nokeys = run('verify', '--keys', join(dir, 'none'), join(dir, 't.tok'));
    expect([nokeys.status, nokeys.err]).toEqual([1, `natfw: ${join(dir, 'none')}: key directory does not exist\n`]);
    writeFileSync(join(dir, '3.key'), 'xyz\n', { mode: 0o600 });
    writeFileSync(join(dir, 'bad.tok'), '80160001 0008\n');
    const badKey = run('verify', '--keys', dir, join(dir, 'bad.tok'));
    expect([badKey.status, badKey.err]).toEqual([1, `natfw: ${join(dir, '3.key')}: not a key: expected one line of hex digits\n`]);
    rmSync(join(dir, '3.key'));
    const badTok = run('show', join(dir, 'bad.tok'));
    expect(badTok.status).toBe(1);
    expect(badTok.err).toMatch(new RegExp(`^natfw: ${join(dir, 'bad.tok')}: not a token: .*\\n$`));
    const bad = run('issue', '--keys', dir, '--key-id', '7', '--src', '198.18.1.0/99', '--dst', '198.19.0.7');
    expect([bad.status, bad.err]).toEqual([2, "natfw: --src: prefix length '99' out of range 0-32\n"]);
  });
});
