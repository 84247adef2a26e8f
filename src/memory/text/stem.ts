import { stemmer } from 'stemmer';

/**
 * Porter stem of a lowercase word ("painting" → "paint"), the same algorithm as SQLite FTS5's
 * `porter` tokenizer, so query terms and indexed terms meet. Tokens with digits ("18th", "2023")
 * are returned unchanged: stemming them only loses information.
 */
export function stem(word: string): string {
  return /\d/.test(word) ? word : stemmer(word);
}
