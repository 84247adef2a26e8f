import { NexusError } from '../errors/index.js';
import type { JsonValue } from './json-value.js';
import type { IndexTextRow, StorageUsage, TextHit } from './store-types.js';

export type JsonObject = { [key: string]: JsonValue };

/** One conversation. Times are milliseconds since the epoch. */
export interface Conversation {
  readonly id: string;
  readonly tenant: string;
  readonly title: string | null;
  readonly metadata: JsonObject;
  readonly createdAt: number;
  /** Bumped by every added message. */
  readonly updatedAt: number;
  readonly messageCount: number;
}

export interface Message {
  /** Backend-assigned insertion order, used to link search indexes and break timestamp ties. */
  readonly seq: number;
  readonly id: string;
  readonly tenant: string;
  readonly conversationId: string;
  readonly role: string;
  readonly name: string | null;
  readonly content: string;
  readonly metadata: JsonObject;
  /** When the message was said (given by the caller, or when it was added). */
  readonly timestamp: number;
  readonly createdAt: number;
}

/** Who wrote a message, as a reader would call them: its name, else its role. */
export interface MessageAuthor {
  readonly seq: number;
  readonly author: string;
}

/** A message's author as MessageAuthor names it. */
export function authorOf(message: Pick<Message, 'role' | 'name'>): string {
  return message.name ?? message.role;
}

export interface NewConversation {
  readonly tenant: string;
  readonly id: string;
  readonly title: string | null;
  readonly metadataJson: string;
  readonly now: number;
}

export interface NewMessage {
  readonly tenant: string;
  readonly conversationId: string;
  readonly id: string;
  readonly role: string;
  readonly name: string | null;
  readonly content: string;
  readonly metadataJson: string;
  readonly timestamp: number;
  readonly indexText: string | null;
  /** What preceded the message in its session (messageContextText): indexed and embedded with it at a lower weight. */
  readonly contextText?: string | null;
  readonly now: number;
}

export interface HistoryQuery {
  readonly tenant: string;
  readonly conversationId: string;
  readonly limit: number;
  /** Messages strictly older than this message id. */
  readonly before?: string | undefined;
  /** Messages strictly newer than this message id. */
  readonly after?: string | undefined;
}

/** A page of history in chronological order, with whether more exist on either side. */
export interface HistoryPage {
  readonly messages: Message[];
  readonly hasOlder: boolean;
  readonly hasNewer: boolean;
}

export interface ConversationListQuery {
  readonly tenant: string;
  readonly limit: number;
  /** Continue after this (updatedAt, id) position of the previous page. */
  readonly after?: { readonly updatedAt: number; readonly id: string } | undefined;
}

export interface MessageTextQuery {
  readonly tenant: string;
  readonly query: string;
  readonly conversationId?: string | undefined;
  /** Inclusive time range over message timestamps (ms). */
  readonly from?: number | undefined;
  readonly to?: number | undefined;
  readonly limit: number;
}

/**
 * Conversations and their messages, scoped by tenant. Implementations: SQLite and an in-memory
 * twin; test/storage/conversation-store.contract.ts states the behaviour.
 */
export interface ConversationStore {
  create(conversation: NewConversation, options?: { signal?: AbortSignal | undefined }): Promise<Conversation>;
  get(tenant: string, id: string): Promise<Conversation | undefined>;
  /** Most recently updated first. */
  list(query: ConversationListQuery): Promise<{ conversations: Conversation[]; hasMore: boolean }>;
  /** Removes the conversation and its messages; false when it did not exist. */
  delete(tenant: string, id: string, options?: { signal?: AbortSignal | undefined }): Promise<boolean>;
  /** Appends a message; CONVERSATION_NOT_FOUND when the conversation does not exist for the tenant. */
  addMessage(message: NewMessage, options?: { signal?: AbortSignal | undefined }): Promise<Message>;
  /**
   * History ordered by (timestamp, seq). Without cursors: the newest `limit`. With `before`: the
   * `limit` messages just older than it. With `after`: the `limit` messages just newer.
   * INVALID_CURSOR when a cursor names no message of this conversation.
   */
  history(query: HistoryQuery): Promise<HistoryPage>;
  /** Messages among these seqs, in no particular order (search hydration). */
  messagesBySeq(tenant: string, seqs: readonly number[]): Promise<Message[]>;
  /** Who wrote the messages among these seqs, in no particular order (the hybrid author vote). */
  authorsBySeq(tenant: string, seqs: readonly number[]): Promise<MessageAuthor[]>;
  /** Full-text matches over message index texts, best first (ids are seqs). */
  searchText(query: MessageTextQuery): Promise<TextHit[]>;
  /** Messages with index text and seq > afterSeq, by seq (embedding backfill); text = messageEmbedText(index text, context). */
  indexTexts(afterSeq: number, limit: number): Promise<IndexTextRow[]>;
  /**
   * Index texts of the latest `limit` messages of a conversation said at or before `timestamp`,
   * newest first (the context of a message about to be added). Empty for an unknown conversation.
   */
  precedingTexts(tenant: string, conversationId: string, timestamp: number, limit: number): Promise<Array<{ text: string; timestamp: number }>>;
  /** What a tenant stores: messages and their content + metadata bytes (quotas). */
  usage(tenant: string): Promise<StorageUsage>;
  /** Deletes every conversation (and message) of a tenant; returns how many records went. */
  deleteTenant(tenant: string, options?: { signal?: AbortSignal | undefined }): Promise<number>;
}

/** The error every ConversationStore throws for an unknown (or other tenant's) conversation. */
export function conversationNotFound(id: string): NexusError {
  return new NexusError('CONVERSATION_NOT_FOUND', `No conversation ${id}`, { details: { conversation_id: id } });
}
