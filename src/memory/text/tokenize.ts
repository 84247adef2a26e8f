/**
 * Word tokenizer shared by full-text queries and the offline embedder: NFKC-normalised, lowercase,
 * split on anything that is not a letter or digit. Apostrophes inside a word are resolved the way
 * English uses them, so "Caroline's" finds "Caroline" and "don't" keeps its negation.
 */

/** Longest token kept; anything longer is noise (hashes, base64) that no query will repeat. */
export const MAX_TOKEN_LENGTH = 64;

// A run of letters/digits, optionally continued through apostrophes ("o'neil", "don't").
const WORD = /[\p{L}\p{N}]+(?:['’ʼ][\p{L}\p{N}]+)*/gu;

const NEGATED: Readonly<Record<string, string>> = { ca: 'can', wo: 'will', sha: 'shall', ai: 'is' };
// Clitics that add nothing searchable: possessive/"is"/"has" 's, "are", "have", "will", "would", "am".
const DROPPED_CLITICS = new Set(['s', 're', 've', 'll', 'd', 'm']);

const APOSTROPHE = /['’ʼ]/;
// eslint-disable-next-line no-control-regex -- ASCII is its own NFKC form, so most texts skip the normalizer.
const ASCII = /^[\x00-\x7f]*$/;

/** Splits text into lowercase word tokens. */
export function tokenize(text: string): string[] {
  const tokens: string[] = [];
  const folded = (ASCII.test(text) ? text : text.normalize('NFKC')).toLowerCase();
  // exec, not matchAll: no iterator and no array per word for the common word without apostrophes.
  // Synchronous from here to the end of the text, so the shared expression's lastIndex is ours.
  WORD.lastIndex = 0;
  for (let match = WORD.exec(folded); match !== null; match = WORD.exec(folded)) {
    const word = match[0];
    if (!APOSTROPHE.test(word)) {
      if (word.length <= MAX_TOKEN_LENGTH) tokens.push(word);
      continue;
    }
    for (const token of resolveApostrophes(word)) {
      if (token.length > 0 && token.length <= MAX_TOKEN_LENGTH) tokens.push(token);
    }
  }
  return tokens;
}

function resolveApostrophes(word: string): string[] {
  const parts = word.split(/['’ʼ]/);
  if (parts.length === 1) return parts;
  if (parts.length === 2) {
    const [base = '', clitic = ''] = parts;
    if (DROPPED_CLITICS.has(clitic)) return [base];
    if (clitic === 't' && base.endsWith('n')) {
      const stemOfVerb = base.slice(0, -1);
      return [NEGATED[stemOfVerb] ?? stemOfVerb, 'not'];
    }
  }
  // Names and elisions ("o'neil", "rock'n'roll") read as one word.
  return [parts.join('')];
}
