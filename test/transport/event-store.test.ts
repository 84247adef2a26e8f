import { describe, expect, it } from 'vitest';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { BoundedEventStore } from '../../src/transport/event-store.js';

const note = (n: number): JSONRPCMessage => ({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: n } });

async function replay(store: BoundedEventStore, after: string): Promise<{ stream: string; data: unknown[] }> {
  const data: unknown[] = [];
  const stream = await store.replayEventsAfter(after, {
    send: async (_id, message) => {
      data.push((message as { params?: { data?: unknown } }).params?.data);
    },
  });
  return { stream, data };
}

describe('BoundedEventStore', () => {
  it('replays the events of the same stream after the given id, in order', async () => {
    const store = new BoundedEventStore(100);
    const first = await store.storeEvent('a', note(1));
    await store.storeEvent('b', note(99));
    await store.storeEvent('a', note(2));
    await store.storeEvent('a', note(3));
    expect(await store.getStreamIdForEventId(first)).toBe('a');
    expect(await replay(store, first)).toEqual({ stream: 'a', data: [2, 3] });
  });

  it('bounds the events of a whole session, not just of one stream (one stream per request)', async () => {
    const store = new BoundedEventStore(10);
    const ids: string[] = [];
    for (let request = 0; request < 5_000; request += 1) {
      ids.push(await store.storeEvent(`stream-${request}`, note(request)));
      ids.push(await store.storeEvent(`stream-${request}`, note(request)));
    }
    expect(store.size).toBe(10);
    // The oldest are gone: unknown to resumption, as a client would see after a long absence.
    expect(await store.getStreamIdForEventId(ids[0]!)).toBeUndefined();
    expect(await replay(store, ids[0]!)).toEqual({ stream: '', data: [] });
    // The newest are kept.
    expect(await replay(store, ids.at(-2)!)).toEqual({ stream: 'stream-4999', data: [4999] });
  });

  it('drops the oldest event first, even inside one long stream', async () => {
    const store = new BoundedEventStore(3);
    const ids = [];
    for (let n = 1; n <= 5; n += 1) ids.push(await store.storeEvent('long', note(n)));
    expect(await store.getStreamIdForEventId(ids[1]!)).toBeUndefined();
    expect(await replay(store, ids[2]!)).toEqual({ stream: 'long', data: [4, 5] });
  });
});
