/**
 * auth.verify: HMAC_SIGNED tokens checked per second by the SessionAuthorizer
 * (find the SESSION_AUTH in the NSLP message, decode, HMAC-SHA-256-128, time,
 * coverage of rule and MRI, replay binding). Each call is a refresh of the
 * session that owns the token, the steady state of an NF. `value` decodes the
 * token from the message bytes in every call (as before); `perCpuSecondDecoded`
 * is an NF's case, where the message decoder has decoded it already and the
 * authorizer takes that object (its wire bytes are the octets received).
 *
 * auth.mac.<digest>: MACs per second of the PreparedHmac each transform uses
 * (transforms.ts) over a token-sized input in two parts, with node:crypto's
 * per-call createHmac measured beside it in the same run.
 */
import { createHmac } from 'node:crypto';
import { HmacSessionAuthorizer, type AuthorizationRequest } from '../natfw-nslp/auth/authorizer';
import { decodeSessionAuth } from '../natfw-nslp/auth/codec';
import { MemoryKeyStore } from '../natfw-nslp/auth/keys';
import { issueToken } from '../natfw-nslp/auth/token';
import { PreparedHmac, TRANSFORMS } from '../natfw-nslp/auth/transforms';
import { encodeNatfwMessage } from '../natfw-nslp/codec';
import { rates, round, type BenchGroup } from './harness';

export const benches: BenchGroup[] = [
  {
    names: ['auth.verify'],
    run(emit) {
      const key = new Uint8Array(32).map((_, i) => i * 7 + 1);
      const t0 = Date.UTC(2026, 0, 1);
      const raw = issueToken({
        key,
        keyId: 7,
        entityId: 'authority.natfw.test',
        src: [{ address: '198.18.1.0', length: 24 }],
        dst: [{ address: '198.19.0.7', length: 32 }],
        protocol: 17,
        dstPorts: { from: 5004, to: 5005 },
        notBefore: t0,
        notAfter: t0 + 3_600_000,
      });
      const sa = decodeSessionAuth(raw);
      if (!sa.ok) throw new Error(sa.error.message);
      const bytes = encodeNatfwMessage({
        type: 'CREATE',
        header: { messageType: 1, proxy: false, edge: false },
        lifetime: 30,
        efi: { ruleAction: 'allow', subPorts: 1 },
        msn: 1,
        sessionAuth: [sa.value],
        unknownObjects: [],
      });
      const req: AuthorizationRequest = {
        messageType: 'CREATE',
        sessionId: new Uint8Array(16).fill(0xa1),
        mri: { mrm: 'path-coupled', ipVersion: 4, sourceAddress: '198.18.1.5', destinationAddress: '198.19.0.7', sourcePrefix: 32, destinationPrefix: 32, protocol: 17, sourcePort: 40000, destinationPort: 5004, direction: 'downstream' },
        rule: { protocol: 17, src: { address: '198.18.1.5', length: 32 }, srcPorts: { from: 40000, to: 40000 }, dst: { address: '198.19.0.7', length: 32 }, dstPorts: { from: 5004, to: 5005 }, action: 'allow' },
        // Nothing decoded: the authorizer finds and decodes the token in the message bytes.
        sessionAuth: [],
        nslpMessageBytes: bytes,
      };
      const reqDecoded: AuthorizationRequest = { ...req, sessionAuth: [sa.value] };
      const a = new HmacSessionAuthorizer({ requireForCreate: true, requireForExternal: true }, new MemoryKeyStore([{ keyId: 7, key }]));
      const first = a.authorize(t0 + 60_000, req);
      if (!first.ok) throw new Error(`auth.verify: token refused: ${first.message}`);
      let refused = 0;
      const r = rates(() => {
        if (!a.authorize(t0 + 60_000, req).ok) refused++;
      });
      const rd = rates(() => {
        if (!a.authorize(t0 + 60_000, reqDecoded).ok) refused++;
      });
      if (refused > 0) throw new Error(`auth.verify: ${refused} refusals`);
      emit({
        bench: 'auth.verify',
        value: round(r.perCpuSecond, 0),
        unit: 'tokens/s',
        perCpuSecond: round(r.perCpuSecond, 0),
        perWallSecond: round(r.perWallSecond, 0),
        perCpuSecondDecoded: round(rd.perCpuSecond, 0),
        transform: 'AUTH_HMAC_SHA2_256_128',
        tokenBytes: raw.length,
      });
    },
  },
  {
    names: ['auth.mac.sha256', 'auth.mac.sha1', 'auth.mac.sha384', 'auth.mac.sha512'],
    run(emit) {
      const key = new Uint8Array(32).map((_, i) => i * 7 + 1);
      // A 128-octet token's MAC input: every octet before the MAC (header, attributes, Key-ID), in the two parts macInput makes.
      const input = new Uint8Array(112).map((_, i) => (i * 13) & 0xff);
      const parts = [input.subarray(0, 104), input.subarray(104)];
      for (const id of [12, 2, 13, 14]) {
        const t = TRANSFORMS.get(id);
        if (t === undefined) continue;
        const hm = new PreparedHmac(t, key);
        const want = hm.mac(parts);
        const ref = createHmac(t.digest, key).update(input).digest().subarray(0, t.macLength);
        if (Buffer.compare(Buffer.from(want), ref) !== 0) throw new Error(`auth.mac: ${t.name} differs from node:crypto`);
        let bad = 0;
        const prepared = rates(() => {
          if (!hm.verify(parts, want)) bad++;
        }, 700);
        const node = rates(() => {
          const h = createHmac(t.digest, key);
          for (const p of parts) h.update(p);
          if (h.digest()[0] !== want[0]) bad++;
        }, 700);
        if (bad > 0) throw new Error(`auth.mac: ${bad} wrong MACs`);
        emit({
          bench: `auth.mac.${t.digest}`,
          value: round(prepared.perCpuSecond, 0),
          unit: 'macs/s',
          perCpuSecond: round(prepared.perCpuSecond, 0),
          perWallSecond: round(prepared.perWallSecond, 0),
          nodeCryptoPerCpuSecond: round(node.perCpuSecond, 0),
          nodeCryptoPerWallSecond: round(node.perWallSecond, 0),
          transform: t.name,
          inputBytes: input.length,
        });
      }
    },
  },
];
