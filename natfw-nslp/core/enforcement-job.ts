/**
 * Enforcement commits are asynchronous (enforcement/types.ts), the core is
 * not: it emits an `EnforcementJob` (one all-or-nothing transaction) and the
 * driver answers with `NatfwNode.enforcementDone(now, jobId, result)`. The
 * core forwards nothing that depends on the job (the successful RESPONSE,
 * s3.7.1) before that answer, and a failed job changes nothing.
 */
import type { ImmediateTransaction, NatBindingSpec, PinholeSet, PinholeSpec, Transaction } from '../../enforcement/types';

export type EnforcementOp =
  | { readonly op: 'add'; readonly spec: PinholeSpec }
  | { readonly op: 'remove'; readonly id: string }
  | { readonly op: 'refresh'; readonly id: string; readonly expiresAt: number }
  | { readonly op: 'addBinding'; readonly spec: NatBindingSpec }
  | { readonly op: 'removeBinding'; readonly id: string }
  | { readonly op: 'refreshBinding'; readonly id: string; readonly expiresAt: number };

export interface EnforcementJob {
  readonly jobId: number;
  readonly ops: readonly EnforcementOp[];
}

export type EnforcementResult =
  | {
      readonly ok: true;
      /** Ids of the `add` ops, in op order. */
      readonly pinholeIds: readonly string[];
      /** Ids of the `addBinding` ops, in op order. */
      readonly bindingIds: readonly string[];
    }
  | { readonly ok: false; readonly code: string; readonly message: string };

const NO_IDS: readonly string[] = Object.freeze([]);

/**
 * Runs a job as one transaction on a pinhole set. Used by drivers (simulator,
 * daemon); it awaits the backend but touches no clock itself.
 */
export async function runEnforcementJob(set: PinholeSet, job: EnforcementJob, now: number): Promise<EnforcementResult> {
  const p = prepare(set, job);
  if (!('tx' in p)) return p;
  try {
    await p.tx.commit(now);
    return p.ids;
  } catch (e) {
    return abortFailed(p.tx, e);
  }
}

/**
 * runEnforcementJob on a backend that applies transactions at once (the memory backend): the
 * same transaction, answered when it returns (the simulator runs millions of jobs).
 */
export function runEnforcementJobNow(set: { begin(): ImmediateTransaction }, job: EnforcementJob, now: number): EnforcementResult {
  const p = prepare(set, job);
  if (!('tx' in p)) return p;
  try {
    p.tx.commitNow(now);
    return p.ids;
  } catch (e) {
    return abortFailed(p.tx, e);
  }
}

/** A transaction begun with the job staged on it and the answer it gets once committed, or why that failed. */
function prepare<T extends Transaction>(set: { begin(): T }, job: EnforcementJob): { tx: T; ids: EnforcementResult } | EnforcementResult {
  let tx: T;
  try {
    tx = set.begin();
  } catch (e) {
    return failed(e);
  }
  try {
    return { tx, ids: stage(tx, job) };
  } catch (e) {
    return abortFailed(tx, e);
  }
}

/** Stages the job's ops on `tx`; the answer it gets once committed. Throws what the backend throws. */
function stage(tx: Transaction, job: EnforcementJob): EnforcementResult {
  // Made when an op needs them (a refresh needs neither, most setups no binding list).
  let pinholeIds: string[] | undefined;
  let bindingIds: string[] | undefined;
  const ops = job.ops;
  for (let i = 0; i < ops.length; i++) {
    const o = ops[i];
    switch (o.op) {
      case 'add':
        (pinholeIds ??= []).push(tx.add(o.spec));
        break;
      case 'remove':
        tx.remove(o.id);
        break;
      case 'refresh':
        tx.refresh(o.id, o.expiresAt);
        break;
      case 'addBinding':
        (bindingIds ??= []).push(tx.addBinding(o.spec));
        break;
      case 'removeBinding':
        tx.removeBinding(o.id);
        break;
      case 'refreshBinding':
        tx.refreshBinding(o.id, o.expiresAt);
        break;
    }
  }
  return { ok: true, pinholeIds: pinholeIds ?? NO_IDS, bindingIds: bindingIds ?? NO_IDS };
}

function abortFailed(tx: Transaction, e: unknown): EnforcementResult {
  try {
    tx.abort();
  } catch {
    // already closed by the failed commit
  }
  return failed(e);
}

function failed(e: unknown): EnforcementResult {
  return { ok: false, code: errorCode(e), message: errorMessage(e) };
}

function errorCode(e: unknown): string {
  if (typeof e === 'object' && e !== null && 'code' in e && typeof (e as { code: unknown }).code === 'string') {
    return (e as { code: string }).code;
  }
  return 'ENF_BACKEND_UNAVAILABLE';
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
