/**
 * Tokens through a three-NF path (NI - NF1 - NF2 - NF3 - NR) over the real
 * GIST and NATFW cores on the virtual network: only NF2 requires
 * authorization. Uses natfwcore's in-process harness.
 */
import { HmacSessionAuthorizer, type AuthorizationRequest, type SessionAuthorizer } from '../../natfw-nslp/auth/authorizer';
import { decodeSessionAuth, type SessionAuthObject } from '../../natfw-nslp/auth/codec';
import type { NatfwResponseError } from '../../natfw-nslp/core/codes';
import { flowMri, NatfwVnetLab } from '../natfw-nslp/core/harness';
import { HOUR, KEY7, store, T0 } from './helpers';
import { issueToken, type IssueOptions } from '../../natfw-nslp/auth/token';

const A = { ni: '198.18.0.1', nf1: ['198.18.0.2', '198.18.1.1'], nf2: ['198.18.1.2', '198.18.2.1'], nf3: ['198.18.2.2', '198.18.3.1'], nr: '198.18.3.2' };

function pathLab(nf2Auth: SessionAuthorizer, nf3Spy: SessionAuthorizer) {
  const lab = new NatfwVnetLab({ seed: 5 });
  lab.add('ni', [A.ni]);
  lab.add('nf1', A.nf1, { middlebox: { kind: 'firewall' } });
  lab.add('nf2', A.nf2, { middlebox: { kind: 'firewall' }, natfw: { authorizer: nf2Auth } });
  lab.add('nf3', A.nf3, { middlebox: { kind: 'firewall' }, natfw: { authorizer: nf3Spy } });
  lab.add('nr', [A.nr]);
  lab.link('ni', 'nf1');
  lab.link('nf1', 'nf2');
  lab.link('nf2', 'nf3');
  lab.link('nf3', 'nr');
  return lab;
}

const tokenObj = (over: Partial<IssueOptions> = {}): { raw: Uint8Array; obj: SessionAuthObject } => {
  const raw = issueToken({
    key: KEY7,
    keyId: 7,
    entityId: 'authority.natfw.test',
    src: [{ address: '198.18.0.0', length: 24 }],
    dst: [{ address: A.nr, length: 32 }],
    protocol: 17,
    dstPorts: { from: 5004, to: 5005 },
    notBefore: T0,
    notAfter: T0 + HOUR,
    ...over,
  });
  const d = decodeSessionAuth(raw);
  if (!d.ok) throw new Error(d.error.message);
  return { raw, obj: d.value };
};

describe('SESSION_AUTH through NI - NF1 - NF2 (requires authorization) - NF3 - NR', () => {
  async function attempt(sessionAuth: SessionAuthObject[] | undefined, opts: { subPorts?: number; sessionId?: Uint8Array; lab?: ReturnType<typeof pathLab> } = {}) {
    const seen: AuthorizationRequest[] = [];
    const spy: SessionAuthorizer = { authorize: (_now, req) => (seen.push(req), { ok: true }) };
    // The virtual clock starts at 0: clockOffsetMs maps it to the tokens' epoch time.
    const nf2Auth = new HmacSessionAuthorizer({ requireForCreate: true, requireForExternal: true, clockOffsetMs: T0 + 60_000 }, store());
    const lab = opts.lab ?? pathLab(nf2Auth, spy);
    const logs: string[] = [];
    lab.get('nf2').node.events.on('log', (e) => logs.push(e.msg));
    const ni = lab.get('ni').node;
    let error: NatfwResponseError | undefined;
    let established = false;
    ni.events.on('failed', (e) => (error = e.error));
    ni.events.on('established', () => (established = true));
    ni.create(lab.now, {
      mri: flowMri(A.ni, A.nr),
      lifetime: 30,
      subPorts: opts.subPorts ?? 1,
      ...(sessionAuth !== undefined ? { sessionAuth } : {}),
      ...(opts.sessionId !== undefined ? { sessionId: opts.sessionId } : {}),
    });
    await lab.runFor(1000);
    const pinholes = (n: string) => lab.get(n).pinholes.list().length;
    return { lab, error, established, logs, seen, pinholes, nf2Auth };
  }

  it('a valid token: established, pinholes at all three NFs, the token reaches NF3 unchanged', async () => {
    const t = tokenObj();
    const r = await attempt([t.obj]);
    expect(r.error).toBeUndefined();
    expect(r.established).toBe(true);
    expect([r.pinholes('nf1'), r.pinholes('nf2'), r.pinholes('nf3')]).toEqual([1, 1, 1]);
    expect(r.seen.length).toBeGreaterThan(0);
    expect(Buffer.from(r.seen[0].nslpMessageBytes).includes(Buffer.from(t.raw))).toBe(true);
  });

  it('no token: NF2 refuses with 5/0x02, says why, and nothing stays installed or goes beyond NF2', async () => {
    const r = await attempt(undefined);
    expect(r.established).toBe(false);
    expect([r.error?.responseClass, r.error?.responseCode]).toEqual([5, 0x02]);
    expect(r.logs.some((l) => l.includes('missing'))).toBe(true);
    expect([r.pinholes('nf1'), r.pinholes('nf2'), r.pinholes('nf3')]).toEqual([0, 0, 0]);
    expect(r.seen).toHaveLength(0);
  });

  it('a token for port 5004 does not open 5004-5005 (sub_ports=1): not-covered', async () => {
    const r = await attempt([tokenObj({ dstPorts: { from: 5004, to: 5004 } }).obj]);
    expect([r.error?.responseClass, r.error?.responseCode]).toEqual([5, 0x02]);
    expect(r.logs.some((l) => l.includes('not-covered'))).toBe(true);
    expect(r.pinholes('nf2')).toBe(0);
    // the same token with sub_ports=0 is fine
    const ok = await attempt([tokenObj({ dstPorts: { from: 5004, to: 5004 } }).obj], { subPorts: 0 });
    expect(ok.established).toBe(true);
  });

  it('a forged token (MAC under another key) and an expired one are refused', async () => {
    const forged = await attempt([tokenObj({ key: new Uint8Array(32).fill(7) }).obj]);
    expect(forged.logs.some((l) => l.includes('bad-mac'))).toBe(true);
    expect(forged.established).toBe(false);
    const expired = await attempt([tokenObj({ notBefore: T0 - 2 * HOUR, notAfter: T0 - HOUR }).obj]);
    expect(expired.logs.some((l) => l.includes('expired'))).toBe(true);
    expect(expired.established).toBe(false);
  });

  it('replay: the same token for a second session is refused at NF2', async () => {
    const t = tokenObj();
    const first = await attempt([t.obj], { sessionId: new Uint8Array(16).fill(1) });
    expect(first.established).toBe(true);
    const second = await attempt([t.obj], { sessionId: new Uint8Array(16).fill(2), lab: first.lab });
    expect(second.established).toBe(false);
    expect(second.logs.some((l) => l.includes('replay'))).toBe(true);
    expect(first.lab.get('nf2').pinholes.list()).toHaveLength(1);
  });
});
