import { isStopWord, quoteTerm, stem, tokenize } from './text/index.js';

/** Most query terms used (first occurrences win), so a pasted essay cannot make a huge query. */
const MAX_QUERY_TERMS = 32;

/**
 * The terms full-text search indexes for a text: its tokens, Porter-stemmed, space-separated.
 * The query side (ftsMatchExpression) applies the same tokenizer and stemmer, so the two always
 * meet; the SQLite FTS5 tables (unicode61, no porter) only split these on spaces. One analysis in
 * JavaScript also makes the in-memory twins rank like SQLite.
 */
export function indexTerms(text: string): string {
  return tokenize(text).map(stem).join(' ');
}

/** The stems a free-text query searches for: content words, or every word when all are stop words. */
export function queryStems(query: string): Set<string> {
  const tokens = tokenize(query);
  const content = tokens.filter((token) => !isStopWord(token));
  return new Set((content.length > 0 ? content : tokens).map(stem));
}

/**
 * A safe FTS5 MATCH expression for free text against the stemmed-terms tables: each query stem
 * double-quoted (user text is never FTS5 syntax) and OR-ed, ranking left to BM25. '' when the text
 * has no searchable word (callers return no hits).
 */
export function ftsMatchExpression(query: string): string {
  return [...queryStems(query)].slice(0, MAX_QUERY_TERMS).map(quoteTerm).join(' OR ');
}
