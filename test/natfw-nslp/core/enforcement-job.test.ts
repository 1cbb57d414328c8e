import fc from 'fast-check';
import { MemoryPinholeSet } from '../../../enforcement';
import type { PinholeSpec } from '../../../enforcement';
import { runEnforcementJob, runEnforcementJobNow, type EnforcementJob, type EnforcementOp } from '../../../natfw-nslp/core/enforcement-job';

function spec(port: number, expiresAt = 60_000): PinholeSpec {
  return {
    protocol: 17,
    src: { address: '198.18.1.1', length: 32 },
    dst: { address: '198.18.2.2', length: 32 },
    dstPorts: { from: port, to: port },
    action: 'allow',
    owner: `s${port}`,
    expiresAt,
  };
}

/** A job as the core would make it, over the ids a set holds now (or a made-up id: the job then fails). */
type JobShape = Array<{ kind: 'add'; port: number } | { kind: 'remove' | 'refresh'; pick: number; bogus: boolean }>;

function jobOf(jobId: number, shape: JobShape, live: readonly string[]): EnforcementJob {
  const ops: EnforcementOp[] = shape.map((o): EnforcementOp => {
    if (o.kind === 'add') return { op: 'add', spec: spec(o.port) };
    const id = o.bogus || live.length === 0 ? 'ph-ffffff' : live[o.pick % live.length];
    return o.kind === 'remove' ? { op: 'remove', id } : { op: 'refresh', id, expiresAt: 90_000 };
  });
  return { jobId, ops };
}

const opArb = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), port: fc.integer({ min: 1, max: 65535 }) }),
  fc.record({ kind: fc.constantFrom('remove' as const, 'refresh' as const), pick: fc.nat(), bogus: fc.boolean() }),
);

describe('runEnforcementJobNow (immediate backends, the simulator)', () => {
  test('gives the answers runEnforcementJob gives and leaves the same pinholes, failed jobs included', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(opArb, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 12 }), async (jobs) => {
        const viaPromise = new MemoryPinholeSet();
        const immediate = new MemoryPinholeSet();
        for (let i = 0; i < jobs.length; i++) {
          const live = viaPromise.list().map((p) => p.id);
          const a = await runEnforcementJob(viaPromise, jobOf(i, jobs[i], live), 1000 * i);
          const b = runEnforcementJobNow(immediate, jobOf(i, jobs[i], live), 1000 * i);
          expect(b).toEqual(a);
        }
        expect(immediate.list()).toEqual(viaPromise.list());
      }),
      { numRuns: 200 },
    );
  });

  test('a failing op leaves the set unchanged and names the error', () => {
    const set = new MemoryPinholeSet();
    const first = runEnforcementJobNow(set, { jobId: 1, ops: [{ op: 'add', spec: spec(5000) }] }, 0);
    expect(first.ok).toBe(true);
    const before = set.list();
    const bad = runEnforcementJobNow(set, { jobId: 2, ops: [{ op: 'add', spec: spec(6000) }, { op: 'remove', id: 'ph-ffffff' }] }, 1);
    expect(bad).toMatchObject({ ok: false, code: 'ENF_UNKNOWN_PINHOLE' });
    expect(set.list()).toEqual(before);
    const late = runEnforcementJobNow(set, { jobId: 3, ops: [{ op: 'add', spec: spec(7000) }] }, Number.NaN);
    expect(late).toMatchObject({ ok: false, code: 'ENF_INVALID_SPEC' });
    expect(set.list()).toEqual(before);
  });

  test('a transaction committed at once is closed like one committed by promise', async () => {
    const set = new MemoryPinholeSet();
    const tx = set.begin();
    tx.add(spec(5000));
    tx.commitNow(0);
    expect(() => tx.add(spec(5001))).toThrow(expect.objectContaining({ code: 'ENF_TX_CLOSED' }));
    await expect(tx.commit(0)).rejects.toMatchObject({ code: 'ENF_TX_CLOSED' });
    expect(set.size).toBe(1);
  });
});
