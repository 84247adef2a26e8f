import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/auth/clock.js';
import { ConcurrencyLimiter, InProcessRateLimiter } from '../../src/auth/rate-limit.js';

const bucket = (key: string, ratePerSecond = 2, burst = 3) => ({ key, ratePerSecond, burst });

describe('in-process token buckets', () => {
  it('allows a burst, refuses the next with the wait until one token is back, and refills with time', async () => {
    const clock = new ManualClock();
    const limiter = new InProcessRateLimiter({ clock });
    for (let i = 0; i < 3; i += 1) expect(await limiter.take([bucket('a')])).toEqual({ allowed: true });
    expect(await limiter.take([bucket('a')])).toEqual({ allowed: false, retryAfterMs: 500, key: 'a' });
    clock.advance(499);
    expect((await limiter.take([bucket('a')])).allowed).toBe(false);
    clock.advance(1);
    expect((await limiter.take([bucket('a')])).allowed).toBe(true);
    // Refill is capped at the burst size however long the caller was idle.
    clock.advance(3_600_000);
    for (let i = 0; i < 3; i += 1) expect((await limiter.take([bucket('a')])).allowed).toBe(true);
    expect((await limiter.take([bucket('a')])).allowed).toBe(false);
  });

  it('keeps callers apart and takes from several buckets all-or-nothing', async () => {
    const clock = new ManualClock();
    const limiter = new InProcessRateLimiter({ clock });
    const tenant = bucket('tenant', 1, 4);
    for (let i = 0; i < 3; i += 1) expect((await limiter.take([bucket('alice'), tenant])).allowed).toBe(true);
    // alice is empty: the tenant bucket must not be charged for her refused request.
    expect(await limiter.take([bucket('alice'), tenant])).toMatchObject({ allowed: false, key: 'alice' });
    expect((await limiter.take([bucket('bob'), tenant])).allowed).toBe(true);
    // Now the tenant is empty too: the refusal names the bucket with the longest wait.
    expect(await limiter.take([bucket('bob'), tenant])).toMatchObject({ allowed: false, key: 'tenant', retryAfterMs: 1000 });
  });

  it('forgets buckets that have refilled and caps how many it keeps', async () => {
    const clock = new ManualClock();
    const limiter = new InProcessRateLimiter({ clock, maxBuckets: 100 });
    for (let i = 0; i < 1000; i += 1) await limiter.take([bucket(`caller-${i}`)]);
    expect(limiter.size).toBeLessThanOrEqual(100);
    clock.advance(10_000);
    limiter.prune();
    expect(limiter.size).toBe(0);
    // A forgotten bucket comes back full, exactly as if it had been kept.
    for (let i = 0; i < 3; i += 1) expect((await limiter.take([bucket('caller-1')])).allowed).toBe(true);
    expect((await limiter.take([bucket('caller-1')])).allowed).toBe(false);
  });

  it('applies a changed rate to an existing bucket', async () => {
    const clock = new ManualClock();
    const limiter = new InProcessRateLimiter({ clock });
    for (let i = 0; i < 3; i += 1) await limiter.take([bucket('a')]);
    expect(await limiter.take([bucket('a', 10, 3)])).toMatchObject({ allowed: false, retryAfterMs: 100 });
  });
});

describe('concurrency limiter', () => {
  it('caps calls per key, releases by call id, and ignores unknown releases', () => {
    const limiter = new ConcurrencyLimiter();
    expect(limiter.tryAcquire('acme', 'c1', 2)).toBe(true);
    expect(limiter.tryAcquire('acme', 'c2', 2)).toBe(true);
    expect(limiter.tryAcquire('acme', 'c3', 2)).toBe(false);
    expect(limiter.tryAcquire('other', 'c4', 2)).toBe(true);
    limiter.release('acme', 'never-acquired');
    expect(limiter.inFlight('acme')).toBe(2);
    limiter.release('acme', 'c1');
    limiter.release('acme', 'c1');
    expect(limiter.inFlight('acme')).toBe(1);
    expect(limiter.tryAcquire('acme', 'c3', 2)).toBe(true);
    limiter.release('acme', 'c2');
    limiter.release('acme', 'c3');
    limiter.release('other', 'c4');
    expect(limiter.keys).toBe(0);
  });
});
