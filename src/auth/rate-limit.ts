import { systemClock, type Clock } from './clock.js';

/** One token bucket: `burst` tokens at most, refilled at `ratePerSecond`. */
export interface BucketSpec {
  /** Whose bucket: "principal:key:abc", "tenant:acme", "tool:acme:cmd.exec" … */
  readonly key: string;
  readonly ratePerSecond: number;
  readonly burst: number;
}

export type RateDecision = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterMs: number; readonly key: string };

/**
 * Decides whether a request may proceed. `take` is all-or-nothing over the buckets it is given:
 * either one token leaves each of them, or none is touched and the caller learns when to retry.
 * The in-process implementation is the default; a shared one (several instances) implements the
 * same interface, hence the promise.
 */
export interface RateLimiter {
  take(buckets: readonly BucketSpec[]): Promise<RateDecision>;
}

interface BucketState {
  tokens: number;
  updatedAt: number;
  ratePerSecond: number;
  burst: number;
}

export interface InProcessRateLimiterOptions {
  clock?: Clock;
  /** Above this many live buckets, full ones are dropped and then the least recently used. */
  maxBuckets?: number;
}

/**
 * Token buckets in a Map. A bucket that has refilled to capacity is indistinguishable from a new
 * one, so sweeping full buckets loses nothing; the map therefore only holds recently active
 * callers (the original's map grew forever). Buckets start full.
 */
export class InProcessRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, BucketState>();
  private readonly clock: Clock;
  private readonly maxBuckets: number;
  private operations = 0;

  constructor(options: InProcessRateLimiterOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.maxBuckets = options.maxBuckets ?? 100_000;
  }

  get size(): number {
    return this.buckets.size;
  }

  async take(specs: readonly BucketSpec[]): Promise<RateDecision> {
    return this.takeSync(specs);
  }

  /** The synchronous core (the in-process limiter never waits). */
  takeSync(specs: readonly BucketSpec[]): RateDecision {
    const now = this.clock.now();
    const states = specs.map((spec) => this.refilled(spec, now));
    // The refusal names the bucket that needs the longest wait, so one retry is enough.
    let refusal: { retryAfterMs: number; key: string } | undefined;
    for (const [index, state] of states.entries()) {
      if (state.tokens >= 1) continue;
      const retryAfterMs = Math.ceil(((1 - state.tokens) / state.ratePerSecond) * 1000);
      if (refusal === undefined || retryAfterMs > refusal.retryAfterMs) refusal = { retryAfterMs, key: specs[index]?.key ?? '' };
    }
    if (refusal === undefined) for (const state of states) state.tokens -= 1;
    this.maybePrune(now);
    return refusal === undefined ? { allowed: true } : { allowed: false, ...refusal };
  }

  /** Drops every bucket that is full by now (and, past the cap, the least recently used). */
  prune(now = this.clock.now()): void {
    for (const [key, state] of this.buckets) {
      if (state.tokens + ((now - state.updatedAt) / 1000) * state.ratePerSecond >= state.burst) this.buckets.delete(key);
    }
    // Still too many live callers: forget the least recently seen; they restart with a full bucket.
    for (const key of this.buckets.keys()) {
      if (this.buckets.size <= this.maxBuckets) break;
      this.buckets.delete(key);
    }
  }

  private refilled(spec: BucketSpec, now: number): BucketState {
    const existing = this.buckets.get(spec.key);
    if (existing === undefined) {
      const fresh = { tokens: spec.burst, updatedAt: now, ratePerSecond: spec.ratePerSecond, burst: spec.burst };
      this.buckets.set(spec.key, fresh);
      return fresh;
    }
    // Re-insert so Map order is least-recently-used first (used by prune's cap).
    this.buckets.delete(spec.key);
    this.buckets.set(spec.key, existing);
    const elapsed = Math.max(0, now - existing.updatedAt);
    // A changed config (reload, tenant override) takes effect on the next request.
    existing.ratePerSecond = spec.ratePerSecond;
    existing.burst = spec.burst;
    existing.tokens = Math.min(spec.burst, existing.tokens + (elapsed / 1000) * spec.ratePerSecond);
    existing.updatedAt = now;
    return existing;
  }

  private maybePrune(now: number): void {
    this.operations += 1;
    if (this.operations % 1024 === 0 || this.buckets.size > this.maxBuckets) this.prune(now);
  }
}

/**
 * Counts calls in flight per key (tenant) against a cap. Slots are tracked by call id so that a
 * release is idempotent and a call that never acquired cannot free someone else's slot.
 */
export class ConcurrencyLimiter {
  private readonly active = new Map<string, Set<string>>();

  /** Takes a slot for `callId`; false when `key` already has `max` calls running. */
  tryAcquire(key: string, callId: string, max: number): boolean {
    let calls = this.active.get(key);
    if (calls === undefined) {
      calls = new Set();
      this.active.set(key, calls);
    }
    if (calls.size >= max) return false;
    calls.add(callId);
    return true;
  }

  release(key: string, callId: string): void {
    const calls = this.active.get(key);
    if (calls === undefined) return;
    calls.delete(callId);
    if (calls.size === 0) this.active.delete(key);
  }

  inFlight(key: string): number {
    return this.active.get(key)?.size ?? 0;
  }

  get keys(): number {
    return this.active.size;
  }
}
