import { describe, expect, it } from 'vitest';
import { makeSnippet } from '../../src/memory/snippet.js';

describe('makeSnippet', () => {
  it('puts a short text on one line, every whitespace run folded to one space', () => {
    expect(makeSnippet('user prefs\ndark theme', 'theme')).toBe('user prefs dark theme');
    expect(makeSnippet('  a\tb\n\nc \u00a0d\r\ne  ', 'b')).toBe('a b c d e');
    expect(makeSnippet('one  two', 'two')).toBe('one two');
  });

  it('cuts a long text around the first word matching the query, at word boundaries', () => {
    const text = `${'filler words here '.repeat(30)}the harbour lights\n${'more filler text '.repeat(30)}`;
    const snippet = makeSnippet(text, 'harbours', 80);
    expect(snippet).toContain('harbour lights');
    expect(snippet.startsWith('…') && snippet.endsWith('…')).toBe(true);
    expect(snippet.length).toBeLessThanOrEqual(82);
    expect(snippet).not.toMatch(/\s\s|\n/);
  });
});
