import { buildFtsQuery, queryStems, stem, tokenize } from './text/index.js';

/**
 * The analysis full-text search uses on both sides, from src/memory/text: `indexTerms` (a text's
 * tokens, Porter-stemmed, space-separated) is what the FTS5 tables (unicode61, no porter) hold;
 * `queryStems` / `ftsMatchExpression` apply the same tokenizer and stemmer to a query, so the two
 * always meet. One analysis in JavaScript also makes the in-memory twins rank like SQLite.
 * `indexTokens` / `searchTerms` are the same analysis for the in-process index
 * (src/memory/search/bm25-index.ts), finished the way FTS5's tokenizer finishes it.
 */
export { indexTerms, queryStems } from './text/index.js';

/** Most query terms used (first occurrences win), so a pasted essay cannot make a huge query. */
const MAX_QUERY_TERMS = 32;

/** A safe FTS5 MATCH expression for free text: quoted stems OR-ed; '' when there is no searchable word. */
export function ftsMatchExpression(query: string): string {
  return buildFtsQuery(query, { maxTerms: MAX_QUERY_TERMS });
}

/** The tokens a text is indexed under: what `indexTerms` gives FTS5, as FTS5 then tokenizes it. */
export function indexTokens(text: string): string[] {
  return tokenize(text).map((token) => foldLatinDiacritics(stem(token)));
}

/** The distinct terms a query searches for: what `ftsMatchExpression` asks FTS5, as FTS5 reads it. */
export function searchTerms(query: string): string[] {
  return [...queryStems(query)].slice(0, MAX_QUERY_TERMS).map(foldLatinDiacritics);
}

/** "café" → "cafe", as FTS5's `unicode61 remove_diacritics 2` folds Latin letters (other scripts keep their marks). */
export function foldLatinDiacritics(term: string): string {
  // eslint-disable-next-line no-control-regex -- the ASCII fast path: most terms have nothing to fold.
  if (/^[\x00-\x7f]*$/.test(term)) return term;
  return term.normalize('NFD').replace(/(\p{Script=Latin})\p{M}+/gu, '$1').normalize('NFC');
}
