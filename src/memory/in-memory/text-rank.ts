import { stem, tokenize } from '../text/index.js';
import { queryStems } from '../index-terms.js';
import type { TextHit } from '../store-types.js';

const K1 = 1.2;
const B = 0.75;

/**
 * BM25 (FTS5's k1 = 1.2, b = 0.75) over a handful of in-memory documents, OR semantics: the
 * in-memory twins' stand-in for SQLite FTS5, with the same tokenizer and stemmer. Recomputed per
 * query, which is fine at twin sizes.
 */
export function rankTexts(query: string, documents: ReadonlyArray<{ id: number; text: string }>, limit: number): TextHit[] {
  return rankFields(
    query,
    documents.map((document) => ({ id: document.id, fields: [document.text] })),
    [1],
    limit,
  );
}

/**
 * Multi-column BM25 exactly as FTS5's bm25(table, w1, w2, …) computes it: a term's frequency is
 * the weighted sum of its occurrences per column, the length normalisation uses the whole row
 * (all columns), and IDF counts rows containing the term in any column.
 */
export function rankFields(query: string, documents: ReadonlyArray<{ id: number; fields: readonly string[] }>, weights: readonly number[], limit: number): TextHit[] {
  const terms = queryStems(query);
  if (terms.size === 0 || documents.length === 0) return [];
  const analysed = documents.map((document) => {
    const columns = document.fields.map((field) => tokenize(field).map(stem));
    return { id: document.id, columns, length: columns.reduce((sum, column) => sum + column.length, 0) };
  });
  const averageLength = analysed.reduce((sum, document) => sum + document.length, 0) / analysed.length || 1;
  const documentFrequency = new Map<string, number>();
  for (const document of analysed) {
    for (const term of new Set(document.columns.flat())) if (terms.has(term)) documentFrequency.set(term, (documentFrequency.get(term) ?? 0) + 1);
  }
  const hits: TextHit[] = [];
  for (const document of analysed) {
    let score = 0;
    for (const term of terms) {
      const frequency = document.columns.reduce((sum, column, index) => sum + (weights[index] ?? 1) * column.filter((candidate) => candidate === term).length, 0);
      if (frequency === 0) continue;
      const n = documentFrequency.get(term) ?? 0;
      const idf = Math.max(1e-6, Math.log((analysed.length - n + 0.5) / (n + 0.5)));
      score += (idf * frequency * (K1 + 1)) / (frequency + K1 * (1 - B + (B * document.length) / averageLength));
    }
    if (score > 0) hits.push({ id: document.id, score });
  }
  return hits.sort((left, right) => right.score - left.score || left.id - right.id).slice(0, limit);
}
