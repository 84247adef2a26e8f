import { NexusError } from '../../errors/index.js';
import {
  authorOf,
  conversationNotFound,
  type Conversation,
  type ConversationListQuery,
  type ConversationStore,
  type HistoryPage,
  type HistoryQuery,
  type JsonObject,
  type Message,
  type MessageAuthor,
  type MessageTextQuery,
  type NewConversation,
  type NewMessage,
} from '../conversation-store.js';
import type { IndexTextRow, StorageUsage, TextHit } from '../store-types.js';
import { MESSAGE_CONTEXT_WEIGHT, messageEmbedText, messageSearchFields } from '../index-text.js';
import { rankFields } from './text-rank.js';

interface StoredMessage extends Omit<Message, 'metadata'> {
  readonly metadataJson: string;
  readonly indexText: string | null;
  readonly contextText: string | null;
}

interface StoredConversation extends Omit<Conversation, 'metadata'> {
  readonly metadataJson: string;
  readonly messages: StoredMessage[];
}

/** ConversationStore twin in Maps: same contract as SQLite. */
export class InMemoryConversationStore implements ConversationStore {
  private readonly conversations = new Map<string, StoredConversation>();
  private nextSeq = 1;

  async create(conversation: NewConversation): Promise<Conversation> {
    if (this.conversations.has(conversation.id)) throw new NexusError('INVALID_ARGUMENTS', `Conversation ${conversation.id} already exists`);
    const stored: StoredConversation = {
      id: conversation.id,
      tenant: conversation.tenant,
      title: conversation.title,
      metadataJson: conversation.metadataJson,
      createdAt: conversation.now,
      updatedAt: conversation.now,
      messageCount: 0,
      messages: [],
    };
    this.conversations.set(stored.id, stored);
    return toConversation(stored);
  }

  async get(tenant: string, id: string): Promise<Conversation | undefined> {
    const stored = this.find(tenant, id);
    return stored === undefined ? undefined : toConversation(stored);
  }

  async list(query: ConversationListQuery): Promise<{ conversations: Conversation[]; hasMore: boolean }> {
    const after = query.after;
    const ordered = [...this.conversations.values()]
      .filter((stored) => stored.tenant === query.tenant)
      .sort((left, right) => right.updatedAt - left.updatedAt || compareIds(right.id, left.id))
      .filter((stored) => after === undefined || stored.updatedAt < after.updatedAt || (stored.updatedAt === after.updatedAt && compareIds(stored.id, after.id) < 0));
    return { conversations: ordered.slice(0, query.limit).map(toConversation), hasMore: ordered.length > query.limit };
  }

  async delete(tenant: string, id: string): Promise<boolean> {
    if (this.find(tenant, id) === undefined) return false;
    return this.conversations.delete(id);
  }

  async addMessage(message: NewMessage): Promise<Message> {
    const conversation = this.find(message.tenant, message.conversationId);
    if (conversation === undefined) throw conversationNotFound(message.conversationId);
    const stored: StoredMessage = {
      seq: this.nextSeq++,
      id: message.id,
      tenant: message.tenant,
      conversationId: message.conversationId,
      role: message.role,
      name: message.name,
      content: message.content,
      metadataJson: message.metadataJson,
      timestamp: message.timestamp,
      createdAt: message.now,
      indexText: message.indexText,
      contextText: message.contextText ?? null,
    };
    conversation.messages.push(stored);
    conversation.messages.sort(byTime);
    this.conversations.set(conversation.id, {
      ...conversation,
      updatedAt: Math.max(conversation.updatedAt, message.now),
      messageCount: conversation.messageCount + 1,
    });
    return toMessage(stored);
  }

  async history(query: HistoryQuery): Promise<HistoryPage> {
    const messages = this.find(query.tenant, query.conversationId)?.messages ?? [];
    const position = (id: string): number => {
      const index = messages.findIndex((message) => message.id === id);
      if (index < 0) throw new NexusError('INVALID_CURSOR', `Message ${id} is not in conversation ${query.conversationId}`, { details: { cursor: id } });
      return index;
    };
    const end = query.before === undefined ? messages.length : position(query.before);
    if (query.after !== undefined) {
      const start = position(query.after) + 1;
      const page = messages.slice(start, Math.min(end, start + query.limit));
      return { messages: page.map(toMessage), hasOlder: true, hasNewer: start + page.length < messages.length };
    }
    const start = Math.max(0, end - query.limit);
    return { messages: messages.slice(start, end).map(toMessage), hasOlder: start > 0, hasNewer: end < messages.length };
  }

  async messagesBySeq(tenant: string, seqs: readonly number[]): Promise<Message[]> {
    const wanted = new Set(seqs);
    return this.allMessages(tenant)
      .filter((message) => wanted.has(message.seq))
      .map(toMessage);
  }

  async authorsBySeq(tenant: string, seqs: readonly number[]): Promise<MessageAuthor[]> {
    return (await this.messagesBySeq(tenant, seqs)).map((message) => ({ seq: message.seq, author: authorOf(message) }));
  }

  async searchText(query: MessageTextQuery): Promise<TextHit[]> {
    const documents = this.allMessages(query.tenant)
      .filter((message) => query.conversationId === undefined || message.conversationId === query.conversationId)
      .filter((message) => (query.from === undefined || message.timestamp >= query.from) && (query.to === undefined || message.timestamp <= query.to))
      .flatMap((message) => (message.indexText === null ? [] : [{ id: message.seq, fields: messageSearchFields({ ...message, indexText: message.indexText }) }]));
    return rankFields(query.query, documents, [1, MESSAGE_CONTEXT_WEIGHT], query.limit);
  }

  async indexTexts(afterSeq: number, limit: number): Promise<IndexTextRow[]> {
    return [...this.conversations.values()]
      .flatMap((conversation) => conversation.messages)
      .filter((message) => message.seq > afterSeq && message.indexText !== null)
      .sort((left, right) => left.seq - right.seq)
      .slice(0, limit)
      .map((message) => ({ id: message.seq, tenant: message.tenant, scope: message.conversationId, text: messageEmbedText(message.indexText ?? '', message.contextText), timestamp: message.timestamp }));
  }

  async precedingTexts(tenant: string, conversationId: string, timestamp: number, limit: number): Promise<Array<{ text: string; timestamp: number }>> {
    const messages = this.find(tenant, conversationId)?.messages ?? [];
    // Kept in (timestamp, seq) order, so the latest at or before `timestamp` are at the end.
    return messages
      .filter((message) => message.timestamp <= timestamp && message.indexText !== null)
      .slice(-limit)
      .reverse()
      .map((message) => ({ text: message.indexText ?? '', timestamp: message.timestamp }));
  }

  async usage(tenant: string): Promise<StorageUsage> {
    const messages = this.allMessages(tenant);
    return { items: messages.length, bytes: messages.reduce((sum, message) => sum + Buffer.byteLength(message.content) + Buffer.byteLength(message.metadataJson), 0) };
  }

  async deleteTenant(tenant: string): Promise<number> {
    const doomed = [...this.conversations.values()].filter((conversation) => conversation.tenant === tenant);
    for (const conversation of doomed) this.conversations.delete(conversation.id);
    return doomed.reduce((sum, conversation) => sum + 1 + conversation.messages.length, 0);
  }

  private find(tenant: string, id: string): StoredConversation | undefined {
    const stored = this.conversations.get(id);
    return stored?.tenant === tenant ? stored : undefined;
  }

  private allMessages(tenant: string): StoredMessage[] {
    return [...this.conversations.values()].filter((conversation) => conversation.tenant === tenant).flatMap((conversation) => conversation.messages);
  }
}

function byTime(left: StoredMessage, right: StoredMessage): number {
  return left.timestamp - right.timestamp || left.seq - right.seq;
}

function compareIds(left: string, right: string): number {
  return left < right ? -1 : left > right ? 1 : 0;
}

function toConversation(stored: StoredConversation): Conversation {
  const { metadataJson, messages: _messages, ...rest } = stored;
  return { ...rest, metadata: JSON.parse(metadataJson) as JsonObject };
}

function toMessage(stored: StoredMessage): Message {
  const { metadataJson, indexText: _indexText, ...rest } = stored;
  return { ...rest, metadata: JSON.parse(metadataJson) as JsonObject };
}
