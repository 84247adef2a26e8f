import { createHash } from 'node:crypto';
import type { JsonValue } from './json-value.js';

/** Metadata keys whose text describes a message (an attachment's caption, a title): indexed with it. */
const DESCRIPTIVE_KEY = /caption|title|summary|description|alt|query/i;

/**
 * What search sees of a key-value item: its key as words, then every string inside the value.
 * Null when the value holds no text (a number, a list of booleans): such items are found by key,
 * not by search.
 */
export function kvIndexText(key: string, value: JsonValue): string | null {
  const strings = collectStrings(value, () => true);
  if (strings.length === 0) return null;
  return [humanizeKey(key), ...strings].join('\n');
}

/** What search sees of a message: speaker name, content, and descriptive metadata (captions). */
export function messageIndexText(message: { name: string | null; content: string; metadata: JsonValue }): string {
  const described = collectStrings(message.metadata, (key) => DESCRIPTIVE_KEY.test(key));
  return [message.name === null ? message.content : `${message.name}: ${message.content}`, ...described].join('\n');
}

/** Short stable hash of a text: an unchanged text is not embedded again. */
export function textHash(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 22);
}

/** "user_preferences.theme" → "user preferences theme", so keys are searchable words. */
function humanizeKey(key: string): string {
  return key.replace(/[_\-.:/\\]+/g, ' ').replace(/([a-z])([A-Z])/g, '$1 $2');
}

/** String leaves in document order; object values only under keys `accept` approves (at any depth). */
function collectStrings(root: JsonValue, accept: (key: string) => boolean): string[] {
  const found: string[] = [];
  const stack: Array<{ value: JsonValue; accepted: boolean }> = [{ value: root, accepted: true }];
  for (let entry = stack.pop(); entry !== undefined; entry = stack.pop()) {
    const { value, accepted } = entry;
    if (typeof value === 'string') {
      if (accepted && value.trim() !== '') found.push(value);
    } else if (Array.isArray(value)) {
      for (let index = value.length - 1; index >= 0; index -= 1) stack.push({ value: value[index] ?? null, accepted });
    } else if (value !== null && typeof value === 'object') {
      const entries = Object.entries(value);
      for (let index = entries.length - 1; index >= 0; index -= 1) {
        const [key, item] = entries[index] ?? ['', null];
        stack.push({ value: item, accepted: accepted && (root === value ? accept(key) : true) });
      }
    }
  }
  return found;
}
