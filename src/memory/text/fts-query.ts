import { isStopWord } from './stop-words.js';
import { stem } from './stem.js';
import { tokenize } from './tokenize.js';

export interface FtsQueryOptions {
  /** Most terms kept (first occurrences win), so a pasted essay cannot make a huge query. */
  maxTerms?: number;
}

const DEFAULT_MAX_TERMS = 32;

/** The Porter stems of a text, space-separated: what the FTS5 tables index (see buildFtsQuery). */
export function indexTerms(text: string): string {
  return tokenize(text).map(stem).join(' ');
}

/** The stems a free-text query searches for: its content words, or every word when all are stop words. */
export function queryStems(text: string): Set<string> {
  const tokens = tokenize(text);
  const content = tokens.filter((token) => !isStopWord(token));
  return new Set((content.length > 0 ? content : tokens).map(stem));
}

/**
 * Turns free text into a safe SQLite FTS5 MATCH expression: the Porter stems of its content words,
 * each double-quoted (so user text is never FTS5 syntax: no column filters, NEAR, `*`, `^`, or
 * AND/OR/NOT operators) and OR-ed, leaving the ranking to BM25. Stop words are dropped unless the
 * text has nothing else. Returns '' when there is no searchable word; callers return no hits then.
 * Pairs with FTS5 tables that hold `indexTerms(text)` under the plain `unicode61` tokenizer: both
 * sides are stemmed once, here. (FTS5's own `porter` tokenizer would stem these stems a second
 * time, and Porter is not idempotent: sunrise → sunris → sunri.)
 */
export function buildFtsQuery(text: string, options: FtsQueryOptions = {}): string {
  return [...queryStems(text)]
    .slice(0, options.maxTerms ?? DEFAULT_MAX_TERMS)
    .map(quoteTerm)
    .join(' OR ');
}

/** An FTS5 string literal: the term in double quotes, inner quotes doubled. */
export function quoteTerm(term: string): string {
  return `"${term.replaceAll('"', '""')}"`;
}
