import { z } from 'zod';
import type { KvItem } from '../../memory/kv-store.js';
import type { MemoryService } from '../../memory/memory-service.js';
import type { SearchHit, SemanticStatus } from '../../memory/memory-search.js';
import { defineTool, type Tool } from '../types.js';
import { READ_ONLY_LOCAL } from './annotations.js';

/** Lazily resolved memory service: the database opens on the first memory call. */
export type MemoryAccess = () => MemoryService;

const NAME_LIMIT = 1024;

export const namespaceField = z.string().min(1).max(256).default('default').describe('Namespace of the key (default "default"); namespaces never see each other\'s keys');
const keyField = z.string().min(1).max(NAME_LIMIT).describe('The key');
const tagsField = z.array(z.string().min(1).max(128)).max(64);
export const anyJson = z.unknown().refine((value) => value !== undefined, 'Required');

/** RFC 3339 UTC, as the original's timestamps. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** An RFC 3339 time with offset, or Unix seconds, as milliseconds. */
export const timeField = z.union([z.iso.datetime({ offset: true }), z.number().finite()]).transform((value) => (typeof value === 'number' ? Math.round(value * 1000) : Date.parse(value)));

export const statusSchema = z.object({
  state: z.enum(['ready', 'indexing', 'embedder_changed', 'degraded', 'unavailable']),
  embedder: z.string().nullable(),
  dimensions: z.number().nullable(),
  pending: z.number(),
  stale_vectors: z.number(),
  stale_embedders: z.array(z.string()),
  message: z.string().optional(),
});

function itemMeta(item: KvItem): { namespace: string; tags: string[]; created_at: string; updated_at: string; expires_at: string | null } {
  return { namespace: item.namespace, tags: [...item.tags], created_at: iso(item.createdAt), updated_at: iso(item.updatedAt), expires_at: item.expiresAt === null ? null : iso(item.expiresAt) };
}

function memoryStore(memory: MemoryAccess): Tool {
  return defineTool({
    name: 'memory.store',
    title: 'Store a memory',
    description:
      'Stores any JSON value under a key (in a namespace, default "default"), replacing what was there. Optional `ttl_secs` makes it expire; ' +
      '`tags` let memory.list and memory.search filter. Text inside the value becomes searchable (full-text at once, semantic shortly after).',
    inputSchema: z.strictObject({
      key: keyField,
      value: anyJson.describe('Any JSON value'),
      ttl_secs: z.number().int().min(1).max(10 * 365 * 86_400).optional().describe('Seconds until the item expires (never, if omitted)'),
      namespace: namespaceField,
      tags: tagsField.default([]).describe('Labels for filtering'),
    }),
    outputSchema: z.object({
      success: z.boolean(),
      key: z.string(),
      stored: z.boolean(),
      created: z.boolean(),
      namespace: z.string(),
      tags: z.array(z.string()),
      created_at: z.string(),
      updated_at: z.string(),
      expires_at: z.string().nullable(),
    }),
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    async execute(input, context) {
      const { item, created } = await memory().store(context.principal.tenant, { namespace: input.namespace, key: input.key, value: input.value, ttlSecs: input.ttl_secs, tags: input.tags }, context);
      const data = { success: true, key: item.key, stored: true, created, ...itemMeta(item) };
      return { data, text: JSON.stringify(data) };
    },
  });
}

function memoryRecall(memory: MemoryAccess): Tool {
  return defineTool({
    name: 'memory.recall',
    title: 'Recall a memory',
    description: 'Reads the value stored under a key. Returns {found: true, key, value, created_at, updated_at, …} or {found: false, key}. Expired items are never returned.',
    inputSchema: z.strictObject({ key: keyField, namespace: namespaceField }),
    outputSchema: z.object({
      found: z.boolean(),
      key: z.string(),
      namespace: z.string(),
      value: z.unknown().optional(),
      tags: z.array(z.string()).optional(),
      created_at: z.string().optional(),
      updated_at: z.string().optional(),
      expires_at: z.string().nullable().optional(),
    }),
    annotations: READ_ONLY_LOCAL,
    async execute(input, context) {
      const item = await memory().recall(context.principal.tenant, input.namespace, input.key);
      const data = item === undefined ? { found: false, key: input.key, namespace: input.namespace } : { found: true, key: item.key, value: item.value, ...itemMeta(item) };
      return { data, text: JSON.stringify(data) };
    },
  });
}

function memoryDelete(memory: MemoryAccess): Tool {
  return defineTool({
    name: 'memory.delete',
    title: 'Delete a memory',
    description: 'Deletes the item under a key. `deleted` says whether it existed (the original always said true).',
    inputSchema: z.strictObject({ key: keyField, namespace: namespaceField }),
    outputSchema: z.object({ success: z.boolean(), key: z.string(), namespace: z.string(), deleted: z.boolean() }),
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    async execute(input, context) {
      const deleted = await memory().delete(context.principal.tenant, input.namespace, input.key, context);
      const data = { success: true, key: input.key, namespace: input.namespace, deleted };
      return { data, text: JSON.stringify(data) };
    },
  });
}

function memoryList(memory: MemoryAccess): Tool {
  return defineTool({
    name: 'memory.list',
    title: 'List memory keys',
    description:
      'Lists keys of a namespace in order, optionally those starting with `prefix` (exact and case-sensitive: "%" and "_" are ordinary characters) ' +
      'and carrying every tag in `tags`. Pages of `limit`; pass `next_cursor` back as `cursor` for the next page.',
    inputSchema: z.strictObject({
      prefix: z.string().max(NAME_LIMIT).optional().describe('Only keys starting with this'),
      namespace: namespaceField,
      tags: tagsField.optional().describe('Only items carrying all these tags'),
      cursor: z.string().max(4096).optional().describe('next_cursor of the previous page'),
      limit: z.number().int().min(1).max(1000).default(100).describe('Keys per page (default 100)'),
    }),
    outputSchema: z.object({
      keys: z.array(z.string()),
      count: z.number(),
      namespace: z.string(),
      items: z.array(z.object({ key: z.string(), tags: z.array(z.string()), created_at: z.string(), updated_at: z.string(), expires_at: z.string().nullable() })),
      next_cursor: z.string().optional(),
    }),
    annotations: READ_ONLY_LOCAL,
    async execute(input, context) {
      const page = await memory().list(context.principal.tenant, { namespace: input.namespace, prefix: input.prefix, tags: input.tags, cursor: input.cursor, limit: input.limit });
      const items = page.items.map((item) => {
        const { namespace: _namespace, ...meta } = itemMeta(item);
        return { key: item.key, ...meta };
      });
      const data = { keys: page.items.map((item) => item.key), count: items.length, namespace: input.namespace, items, ...(page.nextCursor === undefined ? {} : { next_cursor: page.nextCursor }) };
      return { data, text: JSON.stringify(data) };
    },
  });
}

const searchHitSchema = z.object({
  kind: z.enum(['kv', 'message']),
  score: z.number(),
  snippet: z.string(),
  namespace: z.string().optional(),
  key: z.string().optional(),
  value: z.unknown().optional(),
  tags: z.array(z.string()).optional(),
  updated_at: z.string().optional(),
  id: z.string().optional(),
  conversation_id: z.string().optional(),
  role: z.string().optional(),
  name: z.string().nullable().optional(),
  content: z.string().optional(),
  timestamp: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

/** One search hit as tools return it. */
export function describeHit(hit: SearchHit): z.infer<typeof searchHitSchema> {
  if (hit.kind === 'kv') {
    const { item } = hit;
    return { kind: 'kv', score: hit.score, snippet: hit.snippet, namespace: item.namespace, key: item.key, value: item.value, tags: [...item.tags], updated_at: iso(item.updatedAt) };
  }
  const { message } = hit;
  return {
    kind: 'message',
    score: hit.score,
    snippet: hit.snippet,
    id: message.id,
    conversation_id: message.conversationId,
    role: message.role,
    name: message.name,
    content: message.content,
    timestamp: iso(message.timestamp),
    metadata: message.metadata,
  };
}

export const modeField = z
  .enum(['hybrid', 'semantic', 'fulltext'])
  .default('hybrid')
  .describe('hybrid (default): full-text and semantic rankings fused; semantic: meaning only; fulltext: words only (BM25)');

function memorySearch(memory: MemoryAccess, openWorld: boolean): Tool {
  return defineTool({
    name: 'memory.search',
    title: 'Search memory',
    description:
      'Finds stored items and conversation messages relevant to a query, by words (fulltext, BM25), by meaning (semantic, vectors) or both (hybrid, default). ' +
      '`scope` picks key-value items, messages or both; filters: namespace and tags (items), conversation_id (messages), from/to (time). ' +
      'Each hit has a score and a snippet; `status` says whether semantic search is fully available.',
    inputSchema: z.strictObject({
      query: z.string().min(1).max(4096).describe('What to look for, in plain words'),
      scope: z.enum(['kv', 'messages', 'both']).default('both').describe('kv: key-value items; messages: conversation messages; both (default)'),
      mode: modeField,
      k: z.number().int().min(1).max(100).default(10).describe('Hits to return (default 10)'),
      namespace: z.string().min(1).max(256).optional().describe('Only items of this namespace'),
      tags: tagsField.optional().describe('Only items carrying all these tags'),
      conversation_id: z.string().min(1).max(256).optional().describe('Only messages of this conversation'),
      from: timeField.optional().describe('Not before this time (RFC 3339 or Unix seconds)'),
      to: timeField.optional().describe('Not after this time (RFC 3339 or Unix seconds)'),
    }),
    outputSchema: z.object({ query: z.string(), mode: z.string(), scope: z.string(), count: z.number(), results: z.array(searchHitSchema), status: statusSchema }),
    annotations: { ...READ_ONLY_LOCAL, openWorldHint: openWorld },
    async execute(input, context) {
      const result = await memory().find(
        context.principal.tenant,
        { query: input.query, mode: input.mode, scope: input.scope, k: input.k, namespace: input.namespace, tags: input.tags, conversationId: input.conversation_id, from: input.from, to: input.to },
        context,
      );
      const results = result.hits.map(describeHit);
      return { data: { query: input.query, mode: input.mode, scope: input.scope, count: results.length, results, status: result.status satisfies SemanticStatus } };
    },
  });
}

function memoryEmbed(memory: MemoryAccess, openWorld: boolean): Tool {
  return defineTool({
    name: 'memory.embed',
    title: 'Embed texts',
    description: 'Turns a text (or up to 256 texts) into vectors with the configured embedder (offline by default). Returns the vectors, the embedder id and the dimensions.',
    inputSchema: z
      .strictObject({
        text: z.string().max(100_000).optional().describe('One text'),
        texts: z.array(z.string().max(100_000)).min(1).max(256).optional().describe('Several texts'),
      })
      .refine((input) => (input.text === undefined) !== (input.texts === undefined), 'Give exactly one of `text` or `texts`'),
    outputSchema: z.object({
      embedder: z.string(),
      model: z.string(),
      dimensions: z.number(),
      count: z.number(),
      embeddings: z.array(z.object({ index: z.number(), embedding: z.array(z.number()), dimensions: z.number() })),
    }),
    annotations: { ...READ_ONLY_LOCAL, openWorldHint: openWorld },
    async execute(input, context) {
      const texts = input.texts ?? [input.text ?? ''];
      const result = await memory().embed(texts, context);
      const embeddings = result.vectors.map((vector, index) => ({ index, embedding: Array.from(vector), dimensions: vector.length }));
      return { data: { embedder: result.embedder, model: result.embedder, dimensions: result.dimensions, count: embeddings.length, embeddings } };
    },
  });
}

/** memory.store/recall/delete/list/search/embed. */
export function memoryTools(memory: MemoryAccess, options: { embedderIsRemote: boolean }): Tool[] {
  return [memoryStore(memory), memoryRecall(memory), memoryDelete(memory), memoryList(memory), memorySearch(memory, options.embedderIsRemote), memoryEmbed(memory, options.embedderIsRemote)];
}
