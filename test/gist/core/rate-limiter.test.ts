/** RFC 5971 s5.3.3: the token bucket of the D-mode rate limiter, with time as a parameter. */
import { TokenBucket } from '../../../gist/core/rate-limiter';

describe('TokenBucket (s5.3.3 D-mode rate limiter)', () => {
  it('starts full: a burst up to the bucket depth goes at once, the next message waits', () => {
    const b = new TokenBucket({ bytesPerSecond: 1000, burstBytes: 300 }); // 1 byte per ms
    expect(b.take(0, 100)).toBe(true);
    expect(b.take(0, 100)).toBe(true);
    expect(b.take(0, 100)).toBe(true);
    expect(b.available(0)).toBe(0);
    expect(b.take(0, 100)).toBe(false);
    // A refusal takes nothing.
    expect(b.available(0)).toBe(0);
    expect(b.nextRefillAt(0, 100)).toBe(100);
  });

  it('refills at the rate, exactly at the release time it announced', () => {
    const b = new TokenBucket({ bytesPerSecond: 10_000, burstBytes: 500 }); // 10 bytes per ms
    expect(b.take(0, 500)).toBe(true);
    expect(b.nextRefillAt(0, 128)).toBe(13); // 128 bytes at 10/ms: 12.8 ms, rounded up to whole ms
    expect(b.take(12, 128)).toBe(false);
    expect(b.available(12)).toBe(120);
    expect(b.take(13, 128)).toBe(true);
    expect(b.available(13)).toBe(2);
    expect(b.nextRefillAt(13, 128)).toBe(26); // 126 bytes more: 12.6 ms after 13
    expect(b.take(26, 128)).toBe(true);
  });

  it('never holds more than the bucket depth after a quiet period', () => {
    const b = new TokenBucket({ bytesPerSecond: 1000, burstBytes: 300 });
    expect(b.take(0, 300)).toBe(true);
    expect(b.available(1_000_000)).toBe(300);
    expect(b.take(1_000_000, 300)).toBe(true);
    expect(b.take(1_000_000, 1)).toBe(false);
  });

  it('the mean rate holds over a long run: bytes sent by time t never exceed burst + rate * t', () => {
    const b = new TokenBucket({ bytesPerSecond: 3000, burstBytes: 700 }); // 3 bytes per ms
    let now = 0;
    let sent = 0;
    for (let i = 0; i < 1000; i++) {
      const size = 50 + ((i * 37) % 200);
      if (!b.take(now, size)) {
        now = b.nextRefillAt(now, size);
        expect(b.take(now, size)).toBe(true);
      }
      sent += size;
      expect(sent).toBeLessThanOrEqual(700 + 3 * now);
    }
    // And the limiter keeps the link busy: no more than one bucket behind the rate.
    expect(sent).toBeGreaterThanOrEqual(3 * now - 250);
  });

  it('a message larger than the bucket goes once the bucket is full, and its debt is repaid at the rate', () => {
    const b = new TokenBucket({ bytesPerSecond: 1000, burstBytes: 100 });
    expect(b.take(0, 250)).toBe(true); // full bucket: it goes, 150 bytes in debt
    expect(b.nextRefillAt(0, 50)).toBe(200);
    expect(b.take(199, 50)).toBe(false);
    expect(b.take(200, 50)).toBe(true);
  });

  it('rejects parameters that are not positive', () => {
    expect(() => new TokenBucket({ bytesPerSecond: 0, burstBytes: 1 })).toThrow(RangeError);
    expect(() => new TokenBucket({ bytesPerSecond: 1, burstBytes: -1 })).toThrow(RangeError);
    expect(() => new TokenBucket({ bytesPerSecond: Number.NaN, burstBytes: 1 })).toThrow(RangeError);
  });
});
