import { buildFtsQuery } from './text/index.js';

/**
 * The analysis full-text search uses on both sides, from src/memory/text: `indexTerms` (a text's
 * tokens, Porter-stemmed, space-separated) is what the FTS5 tables (unicode61, no porter) hold;
 * `queryStems` / `ftsMatchExpression` apply the same tokenizer and stemmer to a query, so the two
 * always meet. One analysis in JavaScript also makes the in-memory twins rank like SQLite.
 */
export { indexTerms, queryStems } from './text/index.js';

/** Most query terms used (first occurrences win), so a pasted essay cannot make a huge query. */
const MAX_QUERY_TERMS = 32;

/** A safe FTS5 MATCH expression for free text: quoted stems OR-ed; '' when there is no searchable word. */
export function ftsMatchExpression(query: string): string {
  return buildFtsQuery(query, { maxTerms: MAX_QUERY_TERMS });
}
