const DURATION = /^(\d{1,6})([mhdw])$/;
const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `90m`, `12h`, `30d`, `2w` → milliseconds; undefined when the text is not such a duration. */
export function parseDurationMs(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  return match?.[1] !== undefined && match[2] !== undefined ? Number(match[1]) * (UNIT_MS[match[2]] ?? 0) : undefined;
}

/** A duration relative to `now` (added with sign +1, subtracted with -1) or an absolute ISO date → epoch ms; NaN when neither. */
export function parseTimeExpression(text: string, now: number, sign: 1 | -1): number {
  const duration = parseDurationMs(text);
  return duration === undefined ? Date.parse(text) : now + sign * duration;
}
