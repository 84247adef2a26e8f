import { isStopWord } from './stop-words.js';
import { stem } from './stem.js';
import { tokenize } from './tokenize.js';

export interface FtsQueryOptions {
  /** Most terms kept (first occurrences win), so a pasted essay cannot make a huge query. */
  maxTerms?: number;
}

const DEFAULT_MAX_TERMS = 32;

/**
 * Turns free text into a safe SQLite FTS5 MATCH expression: its content words, one per Porter
 * stem, each double-quoted (so user text is never FTS5 syntax: no column filters, NEAR, `*`, `^`, or
 * AND/NOT operators) and OR-ed, leaving the ranking to BM25. Stop words are dropped unless the text
 * has nothing else. Returns '' when there is no searchable word; callers return no hits then.
 * Pairs with an FTS5 table using `tokenize = 'porter unicode61 remove_diacritics 2'`, which stems
 * the indexed text and these terms with the same algorithm.
 */
export function buildFtsQuery(text: string, options: FtsQueryOptions = {}): string {
  const maxTerms = options.maxTerms ?? DEFAULT_MAX_TERMS;
  const tokens = tokenize(text);
  const content = tokens.filter((token) => !isStopWord(token));
  // One term per stem; the word itself is sent because FTS5's porter tokenizer stems query terms
  // too, and Porter is not idempotent (sunrise → sunris → sunri): pre-stemmed terms would miss.
  const terms = new Map<string, string>();
  for (const token of content.length > 0 ? content : tokens) {
    if (terms.size >= maxTerms) break;
    const key = stem(token);
    if (!terms.has(key)) terms.set(key, token);
  }
  return [...terms.values()].map(quoteTerm).join(' OR ');
}

/** An FTS5 string literal: the term in double quotes, inner quotes doubled. */
export function quoteTerm(term: string): string {
  return `"${term.replaceAll('"', '""')}"`;
}
