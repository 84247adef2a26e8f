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
  const terms = queryStems(query);
  if (terms.size === 0 || documents.length === 0) return [];
  const stemmed = documents.map((document) => ({ id: document.id, stems: tokenize(document.text).map(stem) }));
  const averageLength = stemmed.reduce((sum, document) => sum + document.stems.length, 0) / stemmed.length || 1;
  const documentFrequency = new Map<string, number>();
  for (const document of stemmed) {
    for (const term of new Set(document.stems)) if (terms.has(term)) documentFrequency.set(term, (documentFrequency.get(term) ?? 0) + 1);
  }
  const hits: TextHit[] = [];
  for (const document of stemmed) {
    let score = 0;
    for (const term of terms) {
      const frequency = document.stems.filter((candidate) => candidate === term).length;
      if (frequency === 0) continue;
      const n = documentFrequency.get(term) ?? 0;
      const idf = Math.max(1e-6, Math.log((stemmed.length - n + 0.5) / (n + 0.5)));
      score += (idf * frequency * (K1 + 1)) / (frequency + K1 * (1 - B + (B * document.stems.length) / averageLength));
    }
    if (score > 0) hits.push({ id: document.id, score });
  }
  return hits.sort((left, right) => right.score - left.score || left.id - right.id).slice(0, limit);
}
