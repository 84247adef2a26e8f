/**
 * A frozen snapshot of the process environment. Only src/config reads `process.env`; everything
 * else (env.* tools, sys.info, command sandboxes) receives this snapshot, so tests can hand in a
 * made-up environment and nothing can mutate the real one through it.
 */
export function readProcessEnv(): Readonly<Record<string, string | undefined>> {
  return Object.freeze({ ...process.env });
}
