import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConversationStore, NewMessage } from '../../src/memory/conversation-store.js';
import type { StoreFixture } from './kv-store.contract.js';

const T0 = 1_700_000_000_000;

/** The behaviour every ConversationStore must have. */
export function conversationStoreContract(name: string, create: () => StoreFixture<ConversationStore>): void {
  describe(`ConversationStore contract: ${name}`, () => {
    let fixture: StoreFixture<ConversationStore>;
    let store: ConversationStore;
    let messageNumber = 0;
    beforeEach(() => {
      fixture = create();
      store = fixture.store;
    });
    afterEach(() => fixture.close());

    const conversation = (id: string, options: { tenant?: string; now?: number; title?: string } = {}) =>
      store.create({ tenant: options.tenant ?? 'default', id, title: options.title ?? null, metadataJson: '{"topic":"test"}', now: options.now ?? T0 });

    const message = (conversationId: string, content: string, overrides: Partial<NewMessage> = {}) => {
      messageNumber += 1;
      return store.addMessage({
        tenant: 'default',
        conversationId,
        id: `m-${messageNumber}-${content.slice(0, 8)}`,
        role: 'user',
        name: null,
        content,
        metadataJson: '{}',
        timestamp: T0 + messageNumber,
        indexText: content,
        now: T0 + messageNumber,
        ...overrides,
      });
    };

    it('creates, reads and deletes a conversation with its messages', async () => {
      const created = await conversation('c1', { title: 'Trip' });
      expect(created).toMatchObject({ id: 'c1', title: 'Trip', metadata: { topic: 'test' }, messageCount: 0, createdAt: T0 });
      const added = await message('c1', 'hello there');
      expect(added).toMatchObject({ conversationId: 'c1', role: 'user', content: 'hello there', metadata: {} });
      expect(await store.get('default', 'c1')).toMatchObject({ messageCount: 1, updatedAt: added.createdAt });
      expect(await store.delete('default', 'c1')).toBe(true);
      expect(await store.delete('default', 'c1')).toBe(false);
      expect(await store.get('default', 'c1')).toBeUndefined();
      expect(await store.messagesBySeq('default', [added.seq])).toEqual([]);
      expect(await store.searchText({ tenant: 'default', query: 'hello', limit: 10 })).toEqual([]);
    });

    it('refuses messages for unknown or other tenants’ conversations', async () => {
      await conversation('mine', { tenant: 'acme' });
      await expect(message('nope', 'x')).rejects.toMatchObject({ code: 'CONVERSATION_NOT_FOUND' });
      await expect(message('mine', 'x')).rejects.toMatchObject({ code: 'CONVERSATION_NOT_FOUND' });
      expect(await store.get('default', 'mine')).toBeUndefined();
      expect(await store.delete('default', 'mine')).toBe(false);
      expect(await store.get('acme', 'mine')).toBeDefined();
    });

    it('returns the newest messages in chronological order and pages back and forth by cursor', async () => {
      await conversation('c');
      const sent = [];
      for (let index = 0; index < 7; index += 1) sent.push(await message('c', `message ${index}`));
      const ids = (page: { messages: Array<{ content: string }> }): string[] => page.messages.map((item) => item.content);
      const latest = await store.history({ tenant: 'default', conversationId: 'c', limit: 3 });
      expect(ids(latest)).toEqual(['message 4', 'message 5', 'message 6']);
      expect(latest).toMatchObject({ hasOlder: true, hasNewer: false });
      const older = await store.history({ tenant: 'default', conversationId: 'c', limit: 3, before: latest.messages[0]?.id });
      expect(ids(older)).toEqual(['message 1', 'message 2', 'message 3']);
      expect(older).toMatchObject({ hasOlder: true, hasNewer: true });
      const oldest = await store.history({ tenant: 'default', conversationId: 'c', limit: 3, before: older.messages[0]?.id });
      expect(ids(oldest)).toEqual(['message 0']);
      expect(oldest.hasOlder).toBe(false);
      const forward = await store.history({ tenant: 'default', conversationId: 'c', limit: 4, after: sent[1]?.id });
      expect(ids(forward)).toEqual(['message 2', 'message 3', 'message 4', 'message 5']);
      expect(forward).toMatchObject({ hasOlder: true, hasNewer: true });
      const tail = await store.history({ tenant: 'default', conversationId: 'c', limit: 4, after: sent[4]?.id });
      expect(ids(tail)).toEqual(['message 5', 'message 6']);
      expect(tail.hasNewer).toBe(false);
      await expect(store.history({ tenant: 'default', conversationId: 'c', limit: 3, before: 'not-a-message' })).rejects.toMatchObject({ code: 'INVALID_CURSOR' });
    });

    it('orders history by the message timestamp, not by insertion', async () => {
      await conversation('c');
      await message('c', 'second', { timestamp: T0 + 2000 });
      await message('c', 'first', { timestamp: T0 + 1000 });
      await message('c', 'third', { timestamp: T0 + 2000 });
      const page = await store.history({ tenant: 'default', conversationId: 'c', limit: 10 });
      expect(page.messages.map((item) => item.content)).toEqual(['first', 'second', 'third']);
    });

    it('lists conversations most recently updated first, with a cursor', async () => {
      await conversation('a', { now: T0 });
      await conversation('b', { now: T0 + 10 });
      await conversation('c', { now: T0 + 20 });
      await conversation('other', { tenant: 'acme', now: T0 + 30 });
      await message('a', 'bump', { now: T0 + 100 });
      const first = await store.list({ tenant: 'default', limit: 2 });
      expect(first.conversations.map((item) => item.id)).toEqual(['a', 'c']);
      expect(first.hasMore).toBe(true);
      const last = first.conversations.at(-1);
      const second = await store.list({ tenant: 'default', limit: 2, after: last && { updatedAt: last.updatedAt, id: last.id } });
      expect(second.conversations.map((item) => item.id)).toEqual(['b']);
      expect(second.hasMore).toBe(false);
    });

    it('searches message text within a conversation and a time range', async () => {
      await conversation('c1');
      await conversation('c2');
      const early = await message('c1', 'We adopted a puppy named Rex', { timestamp: T0 + 1000 });
      const late = await message('c1', 'The puppy chewed my shoes', { timestamp: T0 + 5000, role: 'assistant', name: 'Rover' });
      const elsewhere = await message('c2', 'Adopting puppies is rewarding', { timestamp: T0 + 3000 });
      await message('c2', 'Nothing about pets', { timestamp: T0 + 4000 });
      const all = await store.searchText({ tenant: 'default', query: 'puppy adoption', limit: 10 });
      expect(new Set(all.map((hit) => hit.id))).toEqual(new Set([early.seq, late.seq, elsewhere.seq]));
      expect((await store.searchText({ tenant: 'default', query: 'puppy', conversationId: 'c2', limit: 10 })).map((hit) => hit.id)).toEqual([elsewhere.seq]);
      expect((await store.searchText({ tenant: 'default', query: 'puppy', from: T0 + 2000, to: T0 + 4000, limit: 10 })).map((hit) => hit.id)).toEqual([elsewhere.seq]);
      expect(await store.searchText({ tenant: 'acme', query: 'puppy', limit: 10 })).toEqual([]);
      const hydrated = await store.messagesBySeq('default', [late.seq, early.seq]);
      expect(hydrated.map((item) => item.content).sort()).toEqual(['The puppy chewed my shoes', 'We adopted a puppy named Rex']);
      const authors = await store.authorsBySeq('default', [late.seq, early.seq, 999_999]);
      expect(authors.sort((left, right) => left.seq - right.seq)).toEqual(hydrated.map(({ seq, role, name }) => ({ seq, author: name ?? role })).sort((left, right) => left.seq - right.seq));
      expect(await store.authorsBySeq('acme', [late.seq])).toEqual([]);
      expect(authors.find((author) => author.seq === late.seq)?.author).toBe('Rover');
      // A store with an in-process text index answers from it once built; a message the index does
      // not hold (no searchable word) is still found.
      const wordless = await message('c1', '!!!', { timestamp: T0 + 6000, role: 'tool' });
      await (store as { textIndexReady?: () => Promise<void> }).textIndexReady?.();
      const fromIndex = await store.authorsBySeq('default', [late.seq, early.seq, wordless.seq, 999_999]);
      expect(fromIndex.sort((left, right) => left.seq - right.seq)).toEqual([
        { seq: early.seq, author: 'user' },
        { seq: late.seq, author: 'Rover' },
        { seq: wordless.seq, author: 'tool' },
      ]);
      expect(await store.authorsBySeq('acme', [late.seq, wordless.seq])).toEqual([]);
    });

    it('measures and deletes one tenant\'s conversations', async () => {
      await conversation('c');
      await conversation('other', { tenant: 'acme' });
      await message('c', 'héllo', { metadataJson: '{"a":1}' });
      await message('c', 'bye');
      expect(await store.usage('default')).toEqual({ items: 2, bytes: Buffer.byteLength('héllo') + 7 + 3 + 2 });
      expect(await store.deleteTenant('default')).toBe(3);
      expect(await store.get('default', 'c')).toBeUndefined();
      expect(await store.usage('default')).toEqual({ items: 0, bytes: 0 });
      expect(await store.get('acme', 'other')).toBeDefined();
    });

    it('hands out index texts by seq for backfill', async () => {
      await conversation('c');
      const first = await message('c', 'alpha');
      await message('c', 'silent', { indexText: null });
      const third = await message('c', 'gamma');
      expect(await store.indexTexts(0, 10)).toEqual([
        { id: first.seq, tenant: 'default', scope: 'c', text: 'alpha', timestamp: first.timestamp },
        { id: third.seq, tenant: 'default', scope: 'c', text: 'gamma', timestamp: third.timestamp },
      ]);
      expect(await store.indexTexts(first.seq, 1)).toHaveLength(1);
    });

    it('hands out the latest texts said at or before a time, newest first (a new message\'s context)', async () => {
      await conversation('c');
      await conversation('other');
      await conversation('foreign', { tenant: 'acme' });
      await message('c', 'first', { timestamp: T0 + 10 });
      await message('c', 'second', { timestamp: T0 + 20 });
      await message('c', 'third', { timestamp: T0 + 20 });
      await message('c', 'later', { timestamp: T0 + 99 });
      await message('c', 'silent', { timestamp: T0 + 15, indexText: null });
      await message('other', 'elsewhere', { timestamp: T0 + 15 });
      expect(await store.precedingTexts('default', 'c', T0 + 50, 2)).toEqual([
        { text: 'third', timestamp: T0 + 20 },
        { text: 'second', timestamp: T0 + 20 },
      ]);
      expect((await store.precedingTexts('default', 'c', T0 + 12, 5)).map((row) => row.text)).toEqual(['first']);
      expect(await store.precedingTexts('default', 'c', T0, 5)).toEqual([]);
      expect(await store.precedingTexts('acme', 'c', T0 + 50, 2)).toEqual([]);
      expect(await store.precedingTexts('default', 'foreign', T0 + 50, 2)).toEqual([]);
    });

    it('finds a message by its context (date and preceding text) at a lower weight than by its own words', async () => {
      await conversation('c');
      const reply = await message('c', 'Adoption agencies, mostly', { contextText: 'What did you research last week?' });
      const own = await message('c', 'I love research, it is my job', { contextText: 'Tell me about work' });
      await message('c', 'Unrelated chatter about the weather', { contextText: 'How are you?' });
      const research = await store.searchText({ tenant: 'default', query: 'research', limit: 10 });
      expect(research.map((hit) => hit.id)).toEqual([own.seq, reply.seq]);
      expect((await store.searchText({ tenant: 'default', query: 'agencies', limit: 10 })).map((hit) => hit.id)).toEqual([reply.seq]);
      // T0 is Tuesday 14 November 2023 (UTC): the date is searchable in words.
      const december = await message('c', 'Snow at last', { timestamp: T0 + 30 * 86_400_000 });
      expect((await store.searchText({ tenant: 'default', query: 'December', limit: 10 })).map((hit) => hit.id)).toEqual([december.seq]);
      expect((await store.searchText({ tenant: 'default', query: 'Tuesday November', limit: 10 })).map((hit) => hit.id)).not.toContain(december.seq);
      // The embedder gets the message with its context.
      expect((await store.indexTexts(reply.seq - 1, 1))[0]?.text).toBe('Adoption agencies, mostly\nWhat did you research last week?');
    });
  });
}
