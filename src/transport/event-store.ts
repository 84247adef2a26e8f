import type { EventStore } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

interface StoredEvent {
  readonly id: string;
  readonly streamId: string;
  readonly message: JSONRPCMessage;
}

/**
 * Keeps a session's recent SSE events so a client that lost a stream can resume it with
 * Last-Event-ID. Bounded across the whole session, oldest first: every request POST opens a
 * stream of its own, so a bound per stream alone would let a long session keep one stream's
 * worth of events for every call it ever made.
 */
export class BoundedEventStore implements EventStore {
  private readonly streams = new Map<string, StoredEvent[]>();
  private readonly byId = new Map<string, StoredEvent>();
  /** Every kept event in arrival order; `head` is the oldest still kept. */
  private order: StoredEvent[] = [];
  private head = 0;
  private sequence = 0;

  constructor(private readonly capacity: number) {}

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    // Ids only have to be unique within the session (the session id is what is secret), and a
    // counter keeps them in order.
    this.sequence += 1;
    const event: StoredEvent = { id: `${streamId}_${this.sequence.toString(36)}`, streamId, message };
    let events = this.streams.get(streamId);
    if (events === undefined) {
      events = [];
      this.streams.set(streamId, events);
    }
    events.push(event);
    this.byId.set(event.id, event);
    this.order.push(event);
    while (this.order.length - this.head > this.capacity) this.dropOldest();
    return event.id;
  }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    return this.byId.get(eventId)?.streamId;
  }

  async replayEventsAfter(lastEventId: string, { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> }): Promise<string> {
    const last = this.byId.get(lastEventId);
    if (last === undefined) return '';
    const events = this.streams.get(last.streamId) ?? [];
    const index = events.indexOf(last);
    for (const event of events.slice(index + 1)) await send(event.id, event.message);
    return last.streamId;
  }

  /** Events kept now (for tests and diagnostics). */
  get size(): number {
    return this.order.length - this.head;
  }

  private dropOldest(): void {
    const oldest = this.order[this.head];
    if (oldest === undefined) return;
    this.head += 1;
    this.byId.delete(oldest.id);
    const events = this.streams.get(oldest.streamId);
    // Each stream's events are in arrival order too, so the oldest kept is its first.
    events?.shift();
    if (events !== undefined && events.length === 0) this.streams.delete(oldest.streamId);
    // Compact the queue now and then instead of shifting it on every drop.
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
  }
}
