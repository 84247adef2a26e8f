import { stemmer } from 'stemmer';

/**
 * Stems already computed, by word. Words follow Zipf's law, so a bounded table answers nearly
 * every lookup of indexing and search alike (the Porter steps are a chain of regular expressions,
 * ~0.4 µs a word); when full it is emptied and fills again with the words in use.
 */
const MEMO_LIMIT = 50_000;
const memo = new Map<string, string>();

/**
 * Porter stem of a lowercase word ("painting" → "paint"), the same algorithm as SQLite FTS5's
 * `porter` tokenizer, so query terms and indexed terms meet. Tokens with digits ("18th", "2023")
 * are returned unchanged: stemming them only loses information.
 */
export function stem(word: string): string {
  if (/\d/.test(word)) return word;
  let stemmed = memo.get(word);
  if (stemmed === undefined) {
    stemmed = stemmer(word);
    if (memo.size >= MEMO_LIMIT) memo.clear();
    memo.set(word, stemmed);
  }
  return stemmed;
}
