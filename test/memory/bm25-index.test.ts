import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { foldLatinDiacritics, ftsMatchExpression, indexTerms, indexTokens, searchTerms } from '../../src/memory/index-terms.js';
import { Bm25Index, type Bm25Filter } from '../../src/memory/search/bm25-index.js';

/** A seeded sequence in [0, 1) (the fractional part of a scaled sine), so a failure reproduces. */
function prng(seed: number): () => number {
  let step = seed;
  return () => {
    const x = Math.sin((step += 1)) * 43_758.545_3;
    return x - Math.floor(x);
  };
}

// Zipf-ish: a few words in most texts (the common-word case BM25 must get right), many rare ones.
const WORDS = ['the', 'running', 'runner', 'café', 'cafe', 'garden', 'gardens', 'paris', 'trip', 'adoption', 'agency', 'painting', 'sunrise', 'lake', 'dog', 'walks', 'pottery', 'class', 'naïve', 'resume', 'résumé'];

function text(random: () => number, words: number): string {
  return Array.from({ length: words }, () => WORDS[Math.floor(WORDS.length * random() ** 2)]).join(' ');
}

interface Row {
  id: number;
  fields: string[];
  tenant: string;
  scope: string;
  time: number;
  expiresAt: number | null;
}

/**
 * The reference: FTS5 itself, fed what the SQLite stores feed it, ranked as they rank. Rebuilt
 * from the current rows before a search: FTS5's own collection statistics keep counting rows
 * deleted from a contentless table (its row count never goes down), so after deletions only a
 * freshly built table says what BM25 should be.
 */
class Fts5Reference {
  private readonly db = new Database(':memory:');
  readonly rows = new Map<number, Row>();
  private built = false;

  constructor(private readonly weights: number[]) {}

  set(row: Row): void {
    this.rows.delete(row.id);
    if (row.fields.some((field) => indexTerms(field) !== '')) this.rows.set(row.id, row);
    this.built = false;
  }

  delete(id: number): void {
    this.rows.delete(id);
    this.built = false;
  }

  search(query: string, limit: number, filter: Bm25Filter): Array<{ id: number; score: number }> {
    const match = ftsMatchExpression(query);
    if (match === '') return [];
    this.build();
    const all = this.db.prepare(`SELECT rowid AS id, -bm25(t, ${this.weights.join(', ')}) AS score FROM t WHERE t MATCH ?`).all(match) as Array<{ id: number; score: number }>;
    return all
      .filter(({ id }) => {
        const row = this.rows.get(id)!;
        return (
          row.tenant === filter.tenant &&
          (filter.scope === undefined || row.scope === filter.scope) &&
          (filter.from === undefined || row.time >= filter.from) &&
          (filter.to === undefined || row.time <= filter.to) &&
          (filter.liveAt === undefined || row.expiresAt === null || row.expiresAt > filter.liveAt)
        );
      })
      .sort((left, right) => right.score - left.score || left.id - right.id)
      .slice(0, limit);
  }

  private build(): void {
    if (this.built) return;
    const columns = this.weights.map((_, index) => `c${index}`);
    this.db.exec(`DROP TABLE IF EXISTS t; CREATE VIRTUAL TABLE t USING fts5 (${columns.join(', ')}, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2')`);
    const insert = this.db.prepare(`INSERT INTO t (rowid, ${columns.join(', ')}) VALUES (?, ${columns.map(() => '?').join(', ')})`);
    for (const row of this.rows.values()) insert.run(row.id, ...row.fields.map(indexTerms));
    this.built = true;
  }

  close(): void {
    this.db.close();
  }
}

function documentOf(row: Row) {
  return { columns: row.fields.map(indexTokens), tenant: row.tenant, scope: row.scope, time: row.time, expiresAt: row.expiresAt };
}

const references: Fts5Reference[] = [];
afterEach(() => {
  for (const reference of references.splice(0)) reference.close();
});

/** Expects the index to return what FTS5 returns: same ids, same order, same scores. */
function expectSameRanking(index: Bm25Index, reference: Fts5Reference, query: string, limit: number, filter: Bm25Filter): void {
  const expected = reference.search(query, limit, filter);
  const actual = index.search(searchTerms(query), limit, filter);
  expect(actual.map((hit) => hit.id)).toEqual(expected.map((hit) => hit.id));
  actual.forEach((hit, position) => expect(hit.score).toBeCloseTo(expected[position]!.score, 12));
}

describe('Bm25Index ranks exactly as FTS5 bm25()', () => {
  it.each([
    { columns: 1, weights: [1] },
    { columns: 2, weights: [1, 0.5] },
  ])('matches FTS5 on a random corpus with $columns column(s), through replacements and deletions', ({ columns, weights }) => {
    const random = prng(columns * 7919);
    const reference = new Fts5Reference(weights);
    references.push(reference);
    const index = new Bm25Index(weights);
    const rowFor = (id: number): Row => ({
      id,
      fields: Array.from({ length: columns }, (_, column) => (column > 0 && random() < 0.3 ? '' : text(random, 1 + Math.floor(random() * 12)))),
      tenant: random() < 0.8 ? 'default' : 'other',
      scope: random() < 0.5 ? 'notes' : 'chat',
      time: Math.floor(random() * 1000),
      expiresAt: random() < 0.2 ? Math.floor(random() * 1000) : null,
    });
    const queries = ['the', 'running garden', 'cafe', 'café trip', 'resume', 'the the dog', 'naive painting class', 'nothing matches', 'paris lake sunrise adoption agency'];
    const filters: Bm25Filter[] = [
      { tenant: 'default' },
      { tenant: 'other' },
      { tenant: 'default', scope: 'notes' },
      { tenant: 'default', from: 200, to: 700 },
      { tenant: 'default', liveAt: 500 },
      { tenant: 'nobody' },
      { tenant: 'default', scope: 'no such scope' },
    ];
    const check = (): void => {
      for (const query of queries) for (const filter of filters) for (const limit of [1, 10, 1000]) expectSameRanking(index, reference, query, limit, filter);
    };
    for (let id = 1; id <= 400; id += 1) {
      const row = rowFor(id);
      reference.set(row);
      index.set(id, documentOf(row));
    }
    expect(index.count).toBe(reference.rows.size);
    check();
    // Replace a third, delete a sixth: the statistics (row count, lengths, document frequencies) follow.
    for (let id = 1; id <= 400; id += 3) {
      const row = rowFor(id);
      reference.set(row);
      index.set(id, documentOf(row));
    }
    for (let id = 2; id <= 400; id += 6) {
      reference.delete(id);
      expect(index.delete(id)).toBe(true);
    }
    expect(index.delete(2)).toBe(false);
    expect(index.count).toBe(reference.rows.size);
    check();
  });

  it('keeps ranking right after compacting away thousands of dead versions', () => {
    const reference = new Fts5Reference([1]);
    references.push(reference);
    const index = new Bm25Index([1]);
    const random = prng(42);
    // 3,000 rewrites of 300 documents leave far more dead slots than live ones: the postings are rebuilt.
    for (let round = 0; round < 10; round += 1) {
      for (let id = 1; id <= 300; id += 1) {
        const row: Row = { id, fields: [text(random, 1 + Math.floor(random() * 8))], tenant: 'default', scope: 's', time: round, expiresAt: null };
        reference.set(row);
        index.set(id, documentOf(row));
      }
    }
    expect(index.count).toBe(300);
    for (const query of ['the', 'gardens walks', 'résumé', 'pottery dog lake']) expectSameRanking(index, reference, query, 50, { tenant: 'default' });
  });

  it('forgets the terms and scopes of deleted documents, so churn cannot grow the index forever', () => {
    const index = new Bm25Index([1]);
    // 50 documents rewritten 100 times, each version with its own one-off id and in its own scope.
    for (let round = 0; round < 100; round += 1) {
      for (let id = 1; id <= 50; id += 1) index.set(id, { columns: [['note', `uid${round}x${id}`]], tenant: 't', scope: `conversation-${round}-${id}`, time: round, expiresAt: null });
    }
    expect(index.count).toBe(50);
    // What the live documents use (1 shared term + 50 ids), plus the versions written since the last rebuild.
    expect(index.terms).toBeLessThan(51 + 2 * 1024);
    expect(index.search(['uid99x7'], 10, { tenant: 't', scope: 'conversation-99-7' }).map((hit) => hit.id)).toEqual([7]);
    expect(index.search(['uid0x7'], 10, { tenant: 't' })).toEqual([]);
    expect(index.search(['note'], 100, { tenant: 't' })).toHaveLength(50);
  });

  it("keeps each document's label for its tenant, through replacement, deletion and compaction", () => {
    const index = new Bm25Index([1]);
    const doc = (label: string | undefined, tenant = 't') => ({ columns: [['word']], tenant, scope: 's', time: 0, expiresAt: null, label });
    index.set(1, doc('Caroline'));
    index.set(2, doc(undefined));
    index.set(3, doc('Caroline', 'other'));
    expect(index.labelOf(1, 't')).toBe('Caroline');
    expect(index.labelOf(2, 't')).toBeUndefined();
    expect(index.labelOf(3, 't')).toBeUndefined();
    expect(index.labelOf(3, 'other')).toBe('Caroline');
    expect(index.labelOf(1, 'nobody')).toBeUndefined();
    index.set(1, doc('Melanie'));
    expect(index.labelOf(1, 't')).toBe('Melanie');
    index.delete(3);
    expect(index.labelOf(3, 'other')).toBeUndefined();
    // Enough dead versions to compact: the live documents keep their labels through it.
    for (let round = 0; round < 3000; round += 1) index.set(10 + (round % 20), doc(`speaker-${round}`));
    for (let id = 10; id < 30; id += 1) expect(index.labelOf(id, 't')).toBe(`speaker-${2980 + id - 10}`);
    expect(index.labelOf(1, 't')).toBe('Melanie');
  });

  it('treats a document without tokens as absent, and an empty query as matching nothing', () => {
    const index = new Bm25Index([1, 0.5]);
    index.set(1, { columns: [[], []], tenant: 't', scope: 's', time: 0, expiresAt: null });
    expect(index.has(1)).toBe(false);
    expect(index.count).toBe(0);
    index.set(2, { columns: [['cafe'], []], tenant: 't', scope: 's', time: 0, expiresAt: null });
    // Replacing a document with an empty one removes it.
    index.set(2, { columns: [[], []], tenant: 't', scope: 's', time: 0, expiresAt: null });
    expect(index.count).toBe(0);
    index.set(3, { columns: [['cafe'], ['lake']], tenant: 't', scope: 's', time: 0, expiresAt: null });
    expect(index.search([], 10, { tenant: 't' })).toEqual([]);
    expect(index.search(['lake'], 0, { tenant: 't' })).toEqual([]);
    expect(index.search(['lake'], 10, { tenant: 't' }).map((hit) => hit.id)).toEqual([3]);
    expect(() => index.set(4, { columns: [['a'], ['b'], ['c']], tenant: 't', scope: 's', time: 0, expiresAt: null })).toThrow(RangeError);
  });

  it('folds Latin diacritics on both sides, as unicode61 remove_diacritics 2 does, and leaves other scripts alone', () => {
    expect(indexTokens('Café NAÏVE résumé')).toEqual(['cafe', 'naiv', 'resume']);
    expect(searchTerms('cafés')).toEqual(['cafe']);
    // Only Latin letters lose their marks (as in unicode61): Greek keeps its tonos.
    expect(foldLatinDiacritics('καφές')).toBe('καφές');
  });
});
