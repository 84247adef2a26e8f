export { buildFtsQuery, indexTerms, queryStems, quoteTerm, type FtsQueryOptions } from './fts-query.js';
export { stem } from './stem.js';
export { isStopWord } from './stop-words.js';
export { MAX_TOKEN_LENGTH, tokenize } from './tokenize.js';
