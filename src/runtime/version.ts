import { readFileSync } from 'node:fs';

/** The package version, read once from package.json next to dist/ or src/. */
export const NEXUS_VERSION: string = (() => {
  const parsed: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return typeof parsed === 'object' && parsed !== null && 'version' in parsed && typeof parsed.version === 'string' ? parsed.version : '0.0.0';
})();
