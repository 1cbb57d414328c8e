/**
 * Drives a core's single `nextDeadline()` with one Node timer (quinn's
 * pattern: timers are data in the core; the driver only sleeps until the
 * earliest one). Deadlines are absolute, on the driver's monotonic clock.
 * Firing early is impossible (it re-arms); firing late is harmless because
 * the core's handleTimeout fires everything that is due.
 */
import type { Clock } from './clock';

const MAX_DELAY_MS = 0x7fffffff; // setTimeout's limit

export class DeadlineTimer {
  private handle: NodeJS.Timeout | undefined;
  private armedFor: number | undefined;
  private closed = false;

  constructor(
    private readonly clock: Clock,
    private readonly onDue: (now: number) => void,
  ) {}

  /** The deadline currently armed, if any. */
  get deadline(): number | undefined {
    return this.armedFor;
  }

  /** Arms for `deadline` (replacing any earlier arming); undefined disarms. */
  set(deadline: number | undefined): void {
    if (this.closed || deadline === this.armedFor) return;
    if (this.handle !== undefined) clearTimeout(this.handle);
    this.handle = undefined;
    this.armedFor = deadline;
    if (deadline === undefined) return;
    const delay = Math.min(MAX_DELAY_MS, Math.max(0, Math.ceil(deadline - this.clock())));
    this.handle = setTimeout(() => this.expire(), delay);
  }

  private expire(): void {
    this.handle = undefined;
    const due = this.armedFor;
    if (due === undefined || this.closed) return;
    const now = this.clock();
    if (now < due) {
      // setTimeout may fire a fraction of a millisecond early, or we were clamped.
      this.armedFor = undefined;
      this.set(due);
      return;
    }
    this.armedFor = undefined;
    this.onDue(now);
  }

  close(): void {
    this.closed = true;
    if (this.handle !== undefined) clearTimeout(this.handle);
    this.handle = undefined;
    this.armedFor = undefined;
  }
}
