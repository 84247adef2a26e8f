import { describe, expect, it } from 'vitest';
import { kvIndexText } from '../../src/memory/index-text.js';

// The index text is stored and hashed (an unchanged text is not embedded again): these outputs
// must not drift, whatever the implementation.
describe('kvIndexText', () => {
  it.each([
    ['user_preferences.theme', 'dark', 'user preferences theme\ndark'],
    ['fooBarBaz-qux', { a: 'x', b: ['y', ' '], c: 3 }, 'foo Bar Baz qux\nx\ny'],
    ['a_B', 'v', 'a B\nv'],
    ['myHTTPServer', 'v', 'my HTTPServer\nv'],
    ['path/to\\file:name', '  padded text  ', 'path to file name\n  padded text  '],
    ['k', { caption: 'c', list: [{ deep: 'd' }] }, 'k\nc\nd'],
  ])('%j with %j gives the key as words, then every string of the value', (key, value, expected) => {
    expect(kvIndexText(key, value)).toBe(expected);
  });

  it.each([['   '], [42], [null], [[true, 1]], [{ a: '' }]])('is null for %j (no text)', (value) => {
    expect(kvIndexText('k', value)).toBeNull();
  });
});
