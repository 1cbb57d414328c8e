/**
 * The D-mode rate limiter of RFC 5971 s5.3.3: a token bucket (the RFC
 * recommends "a token bucket limiter as described in [33]", RFC 2697 style:
 * a rate and a bucket depth) over the bytes of locally generated D-mode
 * datagrams. Pure: time is a parameter (monotonic ms), no I/O, no clock.
 *
 * The bucket starts full. A message of `bytes` may go when the bucket holds
 * `min(bytes, burst)` tokens; it then takes `bytes`, so a message larger than
 * the bucket is not stuck forever: it leaves the bucket in debt, which the
 * rate repays, and the mean output rate stays `bytesPerSecond`.
 */

/** Token bucket parameters (RFC 5971 s5.3.3: "the mean output rate is a small fraction of the node's lowest-speed interface"). */
export interface TokenBucketParams {
  /** Mean output rate, bytes per second (> 0). */
  readonly bytesPerSecond: number;
  /** Bucket depth: the most that may go at once after a quiet period, bytes (> 0). */
  readonly burstBytes: number;
}

/**
 * Tolerance in bytes for the refill arithmetic: a refill computed for an exact
 * release time may come out a rounding error short of the tokens it was
 * computed for; without it the message would miss its own deadline.
 */
const EPSILON = 1e-6;

export class TokenBucket {
  /** Tokens (bytes) as of `last`; negative while a message larger than the bucket is being repaid. */
  private tokens: number;
  /** Time of the last refill (ms). */
  private last = -Infinity;
  /** Refill rate, bytes per ms. */
  private readonly perMs: number;
  private readonly burst: number;

  constructor(params: TokenBucketParams) {
    if (!(params.bytesPerSecond > 0) || !Number.isFinite(params.bytesPerSecond)) throw new RangeError('TokenBucket: bytesPerSecond must be a positive number');
    if (!(params.burstBytes > 0) || !Number.isFinite(params.burstBytes)) throw new RangeError('TokenBucket: burstBytes must be a positive number');
    this.perMs = params.bytesPerSecond / 1000;
    this.burst = params.burstBytes;
    this.tokens = params.burstBytes;
  }

  /**
   * Takes the tokens for a message of `bytes` at `now` and returns true, or
   * returns false (and takes nothing) when there are not enough yet. The fast
   * path (tokens available) is a few arithmetic operations, no allocation.
   */
  take(now: number, bytes: number): boolean {
    let t = this.tokens;
    if (now > this.last) {
      if (t < this.burst) {
        t += (now - this.last) * this.perMs;
        if (t > this.burst) t = this.burst;
        this.tokens = t;
      }
      this.last = now;
    }
    if (t + EPSILON < (bytes < this.burst ? bytes : this.burst)) return false;
    this.tokens = t - bytes;
    return true;
  }

  /**
   * The earliest time (ms, rounded up to a whole ms, never before `now`) at
   * which `take(…, bytes)` will succeed if nothing else is taken meanwhile.
   */
  nextRefillAt(now: number, bytes: number): number {
    const need = (bytes < this.burst ? bytes : this.burst) - this.tokens;
    if (need <= EPSILON) return now;
    const at = Math.ceil(this.last + need / this.perMs);
    return at > now ? at : now;
  }

  /** Tokens available at `now` (for tests and diagnostics; does not change the bucket). */
  available(now: number): number {
    if (now <= this.last || this.tokens >= this.burst) return this.tokens;
    return Math.min(this.burst, this.tokens + (now - this.last) * this.perMs);
  }
}
