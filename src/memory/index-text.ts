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
  // The common case, a text value, without walking it (search builds each hit's snippet from this).
  if (typeof value === 'string') return value.trim() === '' ? null : `${humanizeKey(key)}\n${value}`;
  const strings = collectStrings(value, () => true);
  if (strings.length === 0) return null;
  return [humanizeKey(key), ...strings].join('\n');
}

/** What search sees of a message: speaker name, content, and descriptive metadata (captions). */
export function messageIndexText(message: { name: string | null; content: string; metadata: JsonValue }): string {
  const described = collectStrings(message.metadata, (key) => DESCRIPTIVE_KEY.test(key));
  return [message.name === null ? message.content : `${message.name}: ${message.content}`, ...described].join('\n');
}

/** Preceding messages indexed as a message's context: the question a reply answers is usually just before it. */
export const CONTEXT_MESSAGES = 2;
/** Messages further apart than this are different sessions and lend each other no context. */
export const SESSION_GAP_MS = 60 * 60 * 1000;
/** BM25 weight of the context field against the message's own text (weight 1). */
export const MESSAGE_CONTEXT_WEIGHT = 0.5;

/**
 * A message's context: the index texts of up to CONTEXT_MESSAGES messages before it in its
 * conversation and session (`preceding` newest first), oldest first. Null when there are none.
 * Indexed beside the message at a lower weight, so "what did she research?" → "adoption agencies"
 * finds the reply to the question that named the topic.
 */
export function messageContextText(timestamp: number, preceding: ReadonlyArray<{ text: string; timestamp: number }>): string | null {
  const inSession = preceding.slice(0, CONTEXT_MESSAGES).filter((message) => timestamp - message.timestamp <= SESSION_GAP_MS && message.timestamp <= timestamp);
  return inSession.length === 0 ? null : inSession.map((message) => message.text).reverse().join('\n');
}

/** What the embedder sees of a message: its own index text, then its context. */
export function messageEmbedText(indexText: string, contextText: string | null): string {
  return contextText === null ? indexText : `${indexText}\n${contextText}`;
}

// One formatter for every message: toLocaleDateString builds a new one per call (~0.1 ms), which
// dominated rebuilding the full-text index of many messages.
const DATE_IN_WORDS = new Intl.DateTimeFormat('en-GB', { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });

/** "Monday 8 May 2023" (UTC): when a message was said, in words a question may use ("in May 2023"). */
export function dateWords(timestamp: number): string {
  const date = new Date(timestamp);
  if (Number.isNaN(date.getTime())) return '';
  return DATE_IN_WORDS.format(date).replace(',', '');
}

/** The two full-text fields of a message: its own text, and its context (its date, then what preceded it). */
export function messageSearchFields(message: { indexText: string; contextText: string | null; timestamp: number }): [own: string, context: string] {
  return [message.indexText, [dateWords(message.timestamp), message.contextText ?? ''].filter((part) => part !== '').join('\n')];
}

/** Short stable hash of a text: an unchanged text is not embedded again. */
export function textHash(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 22);
}

/** "user_preferences.theme" → "user preferences theme", so keys are searchable words. */
function humanizeKey(key: string): string {
  // One pass: separator runs, and the empty boundary inside a lower-upper pair, become a space.
  return key.replace(/[_\-.:/\\]+|(?<=[a-z])(?=[A-Z])/g, ' ');
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
