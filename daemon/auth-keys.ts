/**
 * The key directory of natfw authorization tokens: one file `<key-id>.key`
 * per 32-bit Key-ID, holding the HMAC key as hex on one line, mode 0600.
 * Both the issuer (`natfw token issue`) and checking nodes read it; the
 * daemon reloads it without restart by building a new store and swapping it
 * into the authorizer (`reloadKeys`).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readdirSync, readSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { NatfwError } from '../common/errors';
import { err, ok, type Result } from '../common/result';
import { HmacSessionAuthorizer } from '../natfw-nslp/auth/authorizer';
import { MemoryKeyStore, MIN_KEY_BYTES, type HmacKey } from '../natfw-nslp/auth/keys';

export class KeyFileError extends NatfwError {
  constructor(
    readonly file: string,
    what: string,
  ) {
    super('AUTH_KEY_FILE', `${file}: ${what}`);
  }
}

/** Random keys are 256 bits (RFC 5981 s4.4 asks at least 64, "ideally longer"). */
export const KEY_BYTES = 32;
/** A key file is one line of hex; anything much longer is not a key file. */
const MAX_KEY_FILE_BYTES = 4096;

export function keyFileName(dir: string, keyId: number): string {
  return join(dir, `${keyId}.key`);
}

export function parseKeyId(s: string): number | undefined {
  if (!/^\d{1,10}$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 0xffffffff ? n : undefined;
}

/** Reads and checks one key file. */
export function readKeyFile(file: string, keyId: number): Result<HmacKey, KeyFileError> {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    return err(new KeyFileError(file, `cannot open (${(e as NodeJS.ErrnoException).code ?? String(e)})`));
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return err(new KeyFileError(file, 'not a regular file'));
    if ((st.mode & 0o077) !== 0) return err(new KeyFileError(file, `mode ${(st.mode & 0o777).toString(8).padStart(4, '0')} lets other users read the key (chmod 600)`));
    if (st.size > MAX_KEY_FILE_BYTES) return err(new KeyFileError(file, `${st.size} octets, too long for a key file`));
    const buf = Buffer.alloc(Math.max(1, st.size));
    const n = readSync(fd, buf, 0, buf.length, 0);
    const text = buf.subarray(0, n).toString('latin1').trim();
    if (text === '') return err(new KeyFileError(file, 'empty key file'));
    if (!/^[0-9a-fA-F]+$/.test(text) || text.length % 2 !== 0) return err(new KeyFileError(file, 'not a key: expected one line of hex digits'));
    const key = new Uint8Array(Buffer.from(text, 'hex'));
    if (key.length < MIN_KEY_BYTES) return err(new KeyFileError(file, `key of ${key.length * 8} bits, shorter than the 64 bits RFC 5981 s4.4 requires`));
    return ok({ keyId, key });
  } finally {
    closeSync(fd);
  }
}

/** Reads every `<key-id>.key` of a directory. Any bad key file fails the whole load (one line naming it). */
export function loadKeyDirectory(dir: string): Result<MemoryKeyStore, KeyFileError> {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) return err(new KeyFileError(dir, 'not a directory'));
    names = readdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return err(new KeyFileError(dir, code === 'ENOENT' ? 'key directory does not exist' : `cannot read key directory (${code ?? String(e)})`));
  }
  const keys: HmacKey[] = [];
  for (const name of names.sort()) {
    if (!name.endsWith('.key')) continue;
    const file = join(dir, name);
    const keyId = parseKeyId(name.slice(0, -4));
    if (keyId === undefined) return err(new KeyFileError(file, 'file name is not <key-id>.key with a 32-bit decimal Key-ID'));
    const k = readKeyFile(file, keyId);
    if (!k.ok) return k;
    keys.push(k.value);
  }
  return ok(new MemoryKeyStore(keys));
}

/** Reads one key by Key-ID (the issuer needs only that one). */
export function loadKey(dir: string, keyId: number): Result<HmacKey, KeyFileError> {
  if (!existsSync(dir)) return err(new KeyFileError(dir, 'key directory does not exist'));
  const file = keyFileName(dir, keyId);
  if (!existsSync(file)) return err(new KeyFileError(file, `no key with Key-ID ${keyId}`));
  return readKeyFile(file, keyId);
}

/** Writes a new random key as `<dir>/<keyId>.key`, mode 0600; never overwrites an existing key. Creates `dir` (0700) if missing. */
export function generateKeyFile(dir: string, keyId: number, bytes = KEY_BYTES): Result<string, KeyFileError> {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    return err(new KeyFileError(dir, `cannot create key directory (${(e as NodeJS.ErrnoException).code ?? String(e)})`));
  }
  const file = keyFileName(dir, keyId);
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return err(new KeyFileError(file, code === 'EEXIST' ? 'exists; refusing to overwrite a key' : `cannot create (${code ?? String(e)})`));
  }
  try {
    writeSync(fd, randomBytes(bytes).toString('hex') + '\n');
  } finally {
    closeSync(fd);
  }
  return ok(file);
}

/** Reloads the key directory into a running authorizer; on error the old keys stay in use. */
export function reloadKeys(authorizer: HmacSessionAuthorizer, dir: string): Result<number, KeyFileError> {
  const s = loadKeyDirectory(dir);
  if (!s.ok) return s;
  authorizer.setKeyStore(s.value);
  return ok(s.value.size);
}

/** The `authorization` section of the natfwd configuration (daemon/config.ts), structurally. */
export interface AuthorizationSettings {
  readonly keys?: string;
  readonly requireForCreate: boolean;
  readonly requireForExternal: boolean;
  readonly trustedKeyIds?: readonly number[];
  readonly trustedEntities?: readonly string[];
  /** Seconds. */
  readonly clockSkew: number;
}

/**
 * The daemon's authorizer: policy from the configuration, keys from the key
 * directory (an empty store when no directory is configured, so tokens, if
 * required, fail with unknown-key). `now` is wall-clock epoch ms in natfwd.
 */
export function authorizerFromSettings(a: AuthorizationSettings): Result<HmacSessionAuthorizer, KeyFileError> {
  let store = new MemoryKeyStore();
  if (a.keys !== undefined) {
    const s = loadKeyDirectory(a.keys);
    if (!s.ok) return s;
    store = s.value;
  }
  return ok(
    new HmacSessionAuthorizer(
      {
        requireForCreate: a.requireForCreate,
        requireForExternal: a.requireForExternal,
        clockSkewMs: a.clockSkew * 1000,
        ...(a.trustedKeyIds !== undefined ? { trustedKeyIds: a.trustedKeyIds } : {}),
        ...(a.trustedEntities !== undefined ? { trustedEntityIds: a.trustedEntities } : {}),
      },
      store,
    ),
  );
}
