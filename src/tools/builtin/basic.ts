import { z } from 'zod';
import { NexusError } from '../../errors/index.js';
import { defineTool, type Tool } from '../types.js';

const echo = defineTool({
  name: 'echo',
  title: 'Echo',
  description: 'Returns the given text unchanged. Useful to check that a client can reach Nexus.',
  inputSchema: z.strictObject({ text: z.string().describe('Text to return') }),
  outputSchema: z.object({ text: z.string() }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  execute({ text }) {
    return { text, data: { text } };
  },
});

function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** `2026-11-30T06:00:00+01:00` for an instant in a zone: ISO 8601 with the zone's offset. */
function isoInZone(date: Date, timeZone: string): { iso: string; offset: string } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
      .formatToParts(date)
      .map((part) => [part.type, part.value]),
  );
  const asUtc = Date.UTC(Number(parts['year']), Number(parts['month']) - 1, Number(parts['day']), Number(parts['hour']), Number(parts['minute']), Number(parts['second']));
  const offsetMinutes = Math.round((asUtc - Math.floor(date.getTime() / 1000) * 1000) / 60_000);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const offset = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return { iso: `${parts['year']}-${parts['month']}-${parts['day']}T${parts['hour']}:${parts['minute']}:${parts['second']}${offset}`, offset };
}

const getTime = defineTool({
  name: 'get_time',
  title: 'Current time',
  description: 'Returns the current time as RFC 3339, Unix seconds and the time zone (UTC unless an IANA `timezone` such as "Europe/Paris" is given).',
  inputSchema: z.strictObject({ timezone: z.string().min(1).optional().describe('IANA time zone name, default UTC') }),
  outputSchema: z.object({ time: z.string(), timestamp: z.number().int(), timezone: z.string(), utc_offset: z.string() }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  execute({ timezone }) {
    const zone = timezone ?? 'UTC';
    if (!isValidTimeZone(zone)) {
      throw new NexusError('INVALID_ARGUMENTS', `Unknown time zone "${zone}" (use an IANA name such as "America/New_York")`, { details: { field: 'timezone' } });
    }
    const now = new Date();
    const { iso, offset } = isoInZone(now, zone);
    const data = { time: iso, timestamp: Math.floor(now.getTime() / 1000), timezone: zone, utc_offset: offset };
    return { data, text: JSON.stringify(data) };
  },
});

/** Tools that need nothing but the process: part of the core set. */
export function basicTools(): Tool[] {
  return [echo, getTime] as Tool[];
}
