/**
 * The protocol stacks the simulator can run on every node. `real` is the
 * project's GIST core + NATFW NSLP core (the objects the daemon runs); `model`
 * is the compact built-in model (sim/model/), kept for comparison and for
 * scenarios the real stack cannot run yet.
 */
import { modelWorld } from './model/model-stack';
import { realWorld } from './real/real-world';
import type { WorldFactory } from './stack';

export type StackName = 'real' | 'model';

export interface ResolvedStack {
  readonly name: StackName;
  readonly factory: WorldFactory;
}

/** undefined when the real cores are not available in this build. */
export function realStack(): WorldFactory | undefined {
  return (ctx) => realWorld(ctx);
}

export function resolveStack(want: StackName | 'auto'): ResolvedStack | { error: string } {
  if (want === 'model') return { name: 'model', factory: modelWorld };
  const real = realStack();
  if (real !== undefined) return { name: 'real', factory: real };
  if (want === 'real') return { error: 'the real GIST and NATFW cores are not available in this build' };
  return { name: 'model', factory: modelWorld };
}
