/** The key directory (daemon/auth-keys.ts): keygen, loading, bad files, reload. */
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { authorizerFromSettings, generateKeyFile, loadKey, loadKeyDirectory, reloadKeys } from '../../daemon/auth-keys';
import { HmacSessionAuthorizer } from '../../natfw-nslp/auth/authorizer';
import { MemoryKeyStore } from '../../natfw-nslp/auth/keys';
import { request, T0, token } from './helpers';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'natfw-keys-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('key directory', () => {
  it('keygen writes <dir>/<id>.key, mode 0600, 256 bits of hex, and never overwrites', () => {
    const sub = join(dir, 'new');
    const r = generateKeyFile(sub, 7);
    expect(r).toEqual({ ok: true, value: join(sub, '7.key') });
    expect(statSync(join(sub, '7.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(sub, '7.key'), 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);
    const again = generateKeyFile(sub, 7);
    expect(again.ok).toBe(false);
    if (!again.ok) expect(again.error.message).toBe(`${join(sub, '7.key')}: exists; refusing to overwrite a key`);
    expect(generateKeyFile(sub, 8).ok).toBe(true);
    expect(readFileSync(join(sub, '7.key'), 'utf8')).not.toBe(readFileSync(join(sub, '8.key'), 'utf8'));
    const s = loadKeyDirectory(sub);
    expect(s.ok && s.value.keyIds()).toEqual([7, 8]);
  });

  function expectError(r: { ok: boolean; error?: { message: string } }, msg: string): void {
    expect(r.ok).toBe(false);
    expect(r.error?.message).toBe(msg);
    expect(r.error?.message).not.toContain('\n');
  }

  it('one line naming the file and what is wrong', () => {
    expectError(loadKeyDirectory(join(dir, 'nope')), `${join(dir, 'nope')}: key directory does not exist`);
    expectError(loadKey(join(dir, 'nope'), 1), `${join(dir, 'nope')}: key directory does not exist`);
    expectError(loadKey(dir, 3), `${join(dir, '3.key')}: no key with Key-ID 3`);
    const f = join(dir, '1.key');
    writeFileSync(f, 'not hex\n', { mode: 0o600 });
    expectError(loadKeyDirectory(dir), `${f}: not a key: expected one line of hex digits`);
    writeFileSync(f, '0102030405\n', { mode: 0o600 });
    expectError(loadKeyDirectory(dir), `${f}: key of 40 bits, shorter than the 64 bits RFC 5981 s4.4 requires`);
    writeFileSync(f, '', { mode: 0o600 });
    expectError(loadKeyDirectory(dir), `${f}: empty key file`);
    writeFileSync(f, '00112233445566778899aabbccddeeff\n', { mode: 0o600 });
    chmodSync(f, 0o644);
    expectError(loadKeyDirectory(dir), `${f}: mode 0644 lets other users read the key (chmod 600)`);
    chmodSync(f, 0o600);
    expect(loadKeyDirectory(dir).ok).toBe(true);
    writeFileSync(join(dir, 'abc.key'), '00112233445566778899aabbccddeeff\n', { mode: 0o600 });
    expectError(loadKeyDirectory(dir), `${join(dir, 'abc.key')}: file name is not <key-id>.key with a 32-bit decimal Key-ID`);
    writeFileSync(f + '.bak', 'ignored', { mode: 0o600 });
    writeFileSync(join(dir, 'README'), 'ignored');
  });

  it('reload swaps keys into a running authorizer; a failed reload keeps the old keys', () => {
    const a = new HmacSessionAuthorizer({ requireForCreate: true, requireForExternal: true }, new MemoryKeyStore());
    expect(a.authorize(T0 + 1000, request([token()])).ok).toBe(false);
    writeFileSync(join(dir, '7.key'), Buffer.from(new Uint8Array(32).map((_, i) => i + 1)).toString('hex') + '\n', { mode: 0o600 });
    expect(reloadKeys(a, dir)).toEqual({ ok: true, value: 1 });
    expect(a.authorize(T0 + 1000, request([token()])).ok).toBe(true);
    writeFileSync(join(dir, '9.key'), 'zz\n', { mode: 0o600 });
    expect(reloadKeys(a, dir).ok).toBe(false);
    expect(a.keyStore.keyIds()).toEqual([7]);
  });
});

describe('authorizerFromSettings', () => {
  it('builds the daemon authorizer from the configuration section and the key directory', () => {
    writeFileSync(join(dir, '7.key'), Buffer.from(new Uint8Array(32).map((_, i) => i + 1)).toString('hex') + '\n', { mode: 0o600 });
    const r = authorizerFromSettings({ keys: dir, requireForCreate: true, requireForExternal: false, trustedEntities: ['authority.natfw.test'], clockSkew: 5 });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.authorize(T0 + 1000, request([token()])).ok).toBe(true);
    expect(r.value.authorize(T0 + 1000, request([])).ok).toBe(false);
    expect(r.value.authorize(T0 + 1000, request([], { messageType: 'EXTERNAL' })).ok).toBe(true);
    // skew 5 s: 6 s before START_TIME is too early
    expect(r.value.authorize(T0 - 6000, request([token()], { sessionId: new Uint8Array(16).fill(9) }))).toMatchObject({ ok: false, reason: 'not-yet-valid' });
    const bad = authorizerFromSettings({ keys: join(dir, 'missing'), requireForCreate: true, requireForExternal: true, clockSkew: 30 });
    expect(bad.ok).toBe(false);
  });
});
