/**
 * The driver's clock: monotonic milliseconds (never jumps with wall-clock
 * changes), the `now` every core entry point takes. Only gist/driver/ reads it.
 */
import { performance } from 'node:perf_hooks';

export type Clock = () => number;

export const monotonicNow: Clock = () => performance.now();
