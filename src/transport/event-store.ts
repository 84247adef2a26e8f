import { randomUUID } from 'node:crypto';
import type { EventStore } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

interface StoredEvent {
  readonly id: string;
  readonly streamId: string;
  readonly message: JSONRPCMessage;
}

/**
 * Keeps recent SSE events so a client that lost its stream can resume with Last-Event-ID.
 * Bounded per stream (oldest dropped first) so a long session cannot grow memory without limit.
 */
export class BoundedEventStore implements EventStore {
  private readonly streams = new Map<string, StoredEvent[]>();
  private readonly streamOfEvent = new Map<string, string>();

  constructor(private readonly perStream: number) {}

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    const event: StoredEvent = { id: `${streamId}_${Date.now().toString(36)}_${randomUUID().slice(0, 8)}`, streamId, message };
    const events = this.streams.get(streamId) ?? [];
    events.push(event);
    this.streamOfEvent.set(event.id, streamId);
    while (events.length > this.perStream) {
      const dropped = events.shift();
      if (dropped) this.streamOfEvent.delete(dropped.id);
    }
    this.streams.set(streamId, events);
    return event.id;
  }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    return this.streamOfEvent.get(eventId);
  }

  async replayEventsAfter(lastEventId: string, { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> }): Promise<string> {
    const streamId = this.streamOfEvent.get(lastEventId);
    if (streamId === undefined) return '';
    const events = this.streams.get(streamId) ?? [];
    const index = events.findIndex((event) => event.id === lastEventId);
    for (const event of events.slice(index + 1)) await send(event.id, event.message);
    return streamId;
  }
}
