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
  /** When the pending Node timer was set to fire (it may be earlier than `want`). */
  private timerAt: number | undefined;
  /** The deadline asked for. */
  private want: number | undefined;
  private closed = false;

  constructor(
    private readonly clock: Clock,
    private readonly onDue: (now: number) => void,
  ) {}

  /** The deadline currently armed, if any. */
  get deadline(): number | undefined {
    return this.want;
  }

  /**
   * Arms for `deadline` (replacing any earlier arming); undefined disarms.
   * A later deadline than the pending Node timer's keeps that timer: it fires
   * early, finds nothing due and re-arms once (a busy core moves its earliest
   * deadline later after nearly every message; clearTimeout + setTimeout each
   * time showed up in handshake profiles).
   */
  set(deadline: number | undefined): void {
    if (this.closed) return;
    this.want = deadline;
    if (deadline === undefined) {
      this.clear();
      return;
    }
    if (this.handle !== undefined && this.timerAt !== undefined && this.timerAt <= deadline) return;
    this.clear();
    this.arm(deadline);
  }

  private arm(at: number): void {
    this.timerAt = at;
    const delay = Math.min(MAX_DELAY_MS, Math.max(0, Math.ceil(at - this.clock())));
    this.handle = setTimeout(() => this.expire(), delay);
  }

  private clear(): void {
    if (this.handle !== undefined) clearTimeout(this.handle);
    this.handle = undefined;
    this.timerAt = undefined;
  }

  private expire(): void {
    this.handle = undefined;
    this.timerAt = undefined;
    const due = this.want;
    if (due === undefined || this.closed) return;
    const now = this.clock();
    if (now < due) {
      // Armed for an earlier deadline than the one now wanted, or setTimeout fired a fraction of
      // a millisecond early, or the delay was clamped: sleep again until the deadline.
      this.arm(due);
      return;
    }
    this.want = undefined;
    this.onDue(now);
  }

  close(): void {
    this.closed = true;
    this.clear();
    this.want = undefined;
  }
}
