// Load shapes: one call after another (latency) and N calls in flight at once (throughput).

/** Runs `call` `count` times in sequence; returns each call's duration in ms. */
export async function sequential(call, count) {
  const durations = new Array(count);
  for (let index = 0; index < count; index += 1) {
    const started = performance.now();
    await call(index);
    durations[index] = performance.now() - started;
  }
  return durations;
}

/** Runs `count` calls with `concurrency` in flight; returns {calls, seconds}. */
export async function concurrent(call, count, concurrency) {
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < count) {
      const index = next;
      next += 1;
      await call(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { calls: count, seconds: (performance.now() - started) / 1000 };
}
