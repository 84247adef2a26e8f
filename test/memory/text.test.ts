import Database from 'better-sqlite3';
import { dateWords } from '../../src/memory/index-text.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFtsQuery, indexTerms, isStopWord, MAX_TOKEN_LENGTH, queryStems, quoteTerm, stem, tokenize } from '../../src/memory/text/index.js';

describe('tokenize', () => {
  it('lowercases and splits on anything that is not a letter or digit', () => {
    expect(tokenize('Hello, WORLD! Self-care: 3 cats & 18th birthday.')).toEqual(['hello', 'world', 'self', 'care', '3', 'cats', '18th', 'birthday']);
  });

  it('drops possessives and clitics, keeps negation', () => {
    expect(tokenize("Caroline's dog isn't here; we'll see. I'd go, they're gone, I've left, I'm in")).toEqual([
      'caroline', 'dog', 'is', 'not', 'here', 'we', 'see', 'i', 'go', 'they', 'gone', 'i', 'left', 'i', 'in',
    ]);
    expect(tokenize("can't won't don't")).toEqual(['can', 'not', 'will', 'not', 'do', 'not']);
  });

  it('treats typographic apostrophes like ASCII ones and joins names with apostrophes', () => {
    expect(tokenize('Melanie’s O’Neil rock\'n\'roll')).toEqual(['melanie', 'oneil', 'rocknroll']);
  });

  it('keeps letters of any script and folds compatibility forms (NFKC)', () => {
    expect(tokenize('Café naïve Straße ｆｕｌｌｗｉｄｔｈ 東京')).toEqual(['café', 'naïve', 'straße', 'fullwidth', '東京']);
  });

  it('drops tokens longer than the limit instead of indexing noise', () => {
    const long = 'x'.repeat(MAX_TOKEN_LENGTH + 1);
    expect(tokenize(`keep ${long} this`)).toEqual(['keep', 'this']);
    expect(tokenize('x'.repeat(MAX_TOKEN_LENGTH))).toHaveLength(1);
  });

  it('returns nothing for text without words', () => {
    expect(tokenize('  ?!… -- ** ')).toEqual([]);
    expect(tokenize('')).toEqual([]);
  });
});

describe('stem and stop words', () => {
  it('reduces inflections to one Porter stem', () => {
    expect(new Set(['painting', 'painted', 'paints', 'paint'].map(stem))).toEqual(new Set(['paint']));
    expect(stem('adoption')).toBe(stem('adoptions'));
  });

  it('leaves tokens with digits alone', () => {
    expect(stem('18th')).toBe('18th');
    expect(stem('2023')).toBe('2023');
  });

  it('knows function words but not topic words', () => {
    for (const word of ['the', 'what', 'did', 'when', 'she', 'would']) expect(isStopWord(word)).toBe(true);
    for (const word of ['painting', 'adoption', 'like', 'camping']) expect(isStopWord(word)).toBe(false);
  });
});

describe('buildFtsQuery', () => {
  it('ORs the quoted stems of the content words', () => {
    expect(buildFtsQuery('When did Caroline go to the LGBTQ support groups?')).toBe('"carolin" OR "go" OR "lgbtq" OR "support" OR "group"');
    expect(queryStems('When did Caroline go?')).toEqual(new Set(['carolin', 'go']));
  });

  it('deduplicates stems and caps the number of terms', () => {
    expect(buildFtsQuery('painting paint painted')).toBe('"paint"');
    const many = Array.from({ length: 100 }, (_, i) => `word${i}`).join(' ');
    expect(buildFtsQuery(many).split(' OR ')).toHaveLength(32);
    expect(buildFtsQuery(many, { maxTerms: 3 })).toBe('"word0" OR "word1" OR "word2"');
  });

  it('falls back to stop words when the text has nothing else, and to "" when it has no word at all', () => {
    expect(buildFtsQuery('who is she?')).toBe('"who" OR "is" OR "she"');
    expect(buildFtsQuery('?!* ^ ""')).toBe('');
  });

  it('escapes double quotes in a literal term', () => {
    expect(quoteTerm('say "hi"')).toBe('"say ""hi"""');
  });
});

describe('buildFtsQuery against a real FTS5 table', () => {
  let db: Database.Database;
  const rows = [
    'I painted a lake sunrise last year',
    'NEAR the end: column filters and AND OR NOT operators',
    'Caroline researched adoption agencies',
    'plain text with "quotes" and stars*',
  ];

  beforeAll(() => {
    db = new Database(':memory:');
    // As the memory tables do: the stems are indexed, the tokenizer only splits them.
    db.exec("CREATE VIRTUAL TABLE docs USING fts5 (body, tokenize = 'unicode61 remove_diacritics 2')");
    const insert = db.prepare('INSERT INTO docs (rowid, body) VALUES (?, ?)');
    rows.forEach((row, index) => insert.run(index + 1, indexTerms(row)));
  });
  afterAll(() => db.close());

  const search = (text: string): number[] => {
    const query = buildFtsQuery(text);
    if (query === '') return [];
    return db
      .prepare<[string], { rowid: number }>('SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY bm25(docs)')
      .all(query)
      .map((row) => row.rowid);
  };

  it('matches across inflections: query and index are stemmed the same way, once', () => {
    expect(indexTerms('I painted a lake sunrise')).toBe('i paint a lake sunris');
    expect(search('What did Melanie paint?')).toEqual([1]);
    // Porter is not idempotent (sunrise → sunris → sunri): stemming twice would miss.
    expect(search('sunrises')).toEqual([1]);
    expect(search("Caroline's research on adopting")).toEqual([3]);
  });

  it('never lets user text act as FTS5 syntax', () => {
    const hostile = [
      'body:sunrise',
      'NEAR(lake sunrise, 2)',
      'lake AND NOT sunrise',
      '"unterminated',
      'sun*',
      '^lake',
      '(lake OR',
      '{body}: lake',
      'lake + sunrise - year',
      "'; DROP TABLE docs; --",
      '\u0000lake\uFFFF',
    ];
    for (const text of hostile) {
      expect(() => search(text), text).not.toThrow();
    }
    // Operators are plain words: "not" and "and" are stop words, so "lake AND NOT sunrise" finds the lake row.
    expect(search('lake AND NOT sunrise')).toEqual([1]);
    // A column filter is not applied: "body" is just a word no row contains, "sunrise" still matches.
    expect(search('body:sunrise')).toEqual([1]);
    // `*` is not a prefix operator: "sun" alone matches nothing.
    expect(search('sun*')).toEqual([]);
    expect(db.prepare('SELECT count(*) AS n FROM docs').get()).toEqual({ n: rows.length });
  });
});

describe('dateWords', () => {
  it('says a UTC date in words a question may use, without the comma', () => {
    expect(dateWords(Date.UTC(2023, 4, 8, 23, 59))).toBe('Monday 8 May 2023');
    expect(dateWords(Date.UTC(2024, 1, 29))).toBe('Thursday 29 February 2024');
    expect(dateWords(Number.NaN)).toBe('');
  });
});
