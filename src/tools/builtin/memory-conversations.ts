import { z } from 'zod';
import type { Conversation, Message } from '../../memory/conversation-store.js';
import { defineTool, type Tool } from '../types.js';
import { READ_ONLY_LOCAL } from './annotations.js';
import { anyJson, iso, modeField, statusSchema, timeField, type MemoryAccess } from './memory.js';

const conversationId = z.string().min(1).max(256).describe('Conversation id (from memory.conversation.create)');
const metadataField = z.record(z.string(), anyJson).describe('Any JSON object');
const messageId = z.string().min(1).max(256);

const messageSchema = z.object({
  id: z.string(),
  role: z.string(),
  name: z.string().nullable(),
  content: z.string(),
  timestamp: z.string(),
  created_at: z.string(),
  metadata: z.record(z.string(), z.unknown()),
});

const conversationSchema = z.object({
  id: z.string(),
  title: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  message_count: z.number(),
  metadata: z.record(z.string(), z.unknown()),
});

function describeMessage(message: Message): z.infer<typeof messageSchema> {
  return { id: message.id, role: message.role, name: message.name, content: message.content, timestamp: iso(message.timestamp), created_at: iso(message.createdAt), metadata: message.metadata };
}

function describeConversation(conversation: Conversation): z.infer<typeof conversationSchema> {
  return {
    id: conversation.id,
    title: conversation.title,
    created_at: iso(conversation.createdAt),
    updated_at: iso(conversation.updatedAt),
    message_count: conversation.messageCount,
    metadata: conversation.metadata,
  };
}

function create(memory: MemoryAccess): Tool {
  return defineTool({
    name: 'memory.conversation.create',
    title: 'Start a conversation',
    description: 'Creates a conversation to record messages in. Returns its `conversation_id`.',
    inputSchema: z.strictObject({ title: z.string().max(1024).optional().describe('Title'), metadata: metadataField.optional() }),
    outputSchema: z.object({ success: z.boolean(), conversation_id: z.string(), title: z.string().nullable(), created_at: z.string(), metadata: z.record(z.string(), z.unknown()) }),
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    async execute(input, context) {
      const conversation = await memory().createConversation(context.principal.tenant, { title: input.title, metadata: input.metadata }, context);
      const data = { success: true, conversation_id: conversation.id, title: conversation.title, created_at: iso(conversation.createdAt), metadata: conversation.metadata };
      return { data, text: JSON.stringify(data) };
    },
  });
}

function add(memory: MemoryAccess): Tool {
  return defineTool({
    name: 'memory.conversation.add',
    title: 'Add a message',
    description:
      'Appends a message to a conversation: `role` (user, assistant, system, tool…), `content`, optionally the speaker `name`, when it was said ' +
      '(`timestamp`, RFC 3339 or Unix seconds; default now) and `metadata` (captions and titles in it are searchable too).',
    inputSchema: z.strictObject({
      conversation_id: conversationId,
      role: z.string().min(1).max(64).describe('user, assistant, system, tool, …'),
      content: z.string().describe('The message text'),
      name: z.string().min(1).max(256).optional().describe('Who said it'),
      timestamp: timeField.optional().describe('When it was said (RFC 3339 or Unix seconds); default now'),
      metadata: metadataField.optional(),
    }),
    outputSchema: z.object({ success: z.boolean(), message_id: z.string(), conversation_id: z.string(), timestamp: z.string(), created_at: z.string() }),
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    async execute(input, context) {
      const message = await memory().addMessage(
        context.principal.tenant,
        { conversationId: input.conversation_id, role: input.role, content: input.content, name: input.name, timestamp: input.timestamp, metadata: input.metadata },
        context,
      );
      const data = { success: true, message_id: message.id, conversation_id: message.conversationId, timestamp: iso(message.timestamp), created_at: iso(message.createdAt) };
      return { data, text: JSON.stringify(data) };
    },
  });
}

function get(memory: MemoryAccess): Tool {
  return defineTool({
    name: 'memory.conversation.get',
    title: 'Read a conversation',
    description:
      'Returns the latest `limit` messages of a conversation in chronological order (oldest of the page first). To read further back pass ' +
      '`before_cursor` as `before`; to read forward from a message pass its id (or `after_cursor`) as `after`.',
    inputSchema: z.strictObject({
      conversation_id: conversationId,
      limit: z.number().int().min(1).max(1000).default(50).describe('Messages per page (default 50)'),
      before: messageId.optional().describe('Only messages older than this message id'),
      after: messageId.optional().describe('Only messages newer than this message id'),
    }),
    outputSchema: z.object({
      conversation_id: z.string(),
      title: z.string().nullable(),
      metadata: z.record(z.string(), z.unknown()),
      message_count: z.number(),
      count: z.number(),
      messages: z.array(messageSchema),
      before_cursor: z.string().optional(),
      after_cursor: z.string().optional(),
    }),
    annotations: READ_ONLY_LOCAL,
    async execute(input, context) {
      const { conversation, page } = await memory().history(context.principal.tenant, { conversationId: input.conversation_id, limit: input.limit, before: input.before, after: input.after });
      const first = page.messages[0];
      const last = page.messages.at(-1);
      const data = {
        conversation_id: conversation.id,
        title: conversation.title,
        metadata: conversation.metadata,
        message_count: conversation.messageCount,
        count: page.messages.length,
        messages: page.messages.map(describeMessage),
        ...(page.hasOlder && first !== undefined ? { before_cursor: first.id } : {}),
        ...(page.hasNewer && last !== undefined ? { after_cursor: last.id } : {}),
      };
      return { data };
    },
  });
}

function list(memory: MemoryAccess): Tool {
  return defineTool({
    name: 'memory.conversation.list',
    title: 'List conversations',
    description: 'Lists conversations, most recently active first. Pass `next_cursor` back as `cursor` for the next page.',
    inputSchema: z.strictObject({
      limit: z.number().int().min(1).max(100).default(20).describe('Conversations per page (default 20)'),
      cursor: z.string().max(4096).optional().describe('next_cursor of the previous page'),
    }),
    outputSchema: z.object({ count: z.number(), conversations: z.array(conversationSchema), next_cursor: z.string().optional() }),
    annotations: READ_ONLY_LOCAL,
    async execute(input, context) {
      const page = await memory().listConversations(context.principal.tenant, { limit: input.limit, cursor: input.cursor });
      const conversations = page.conversations.map(describeConversation);
      return { data: { count: conversations.length, conversations, ...(page.nextCursor === undefined ? {} : { next_cursor: page.nextCursor }) } };
    },
  });
}

function remove(memory: MemoryAccess): Tool {
  return defineTool({
    name: 'memory.conversation.delete',
    title: 'Delete a conversation',
    description: 'Deletes a conversation and all its messages. `deleted` says whether it existed.',
    inputSchema: z.strictObject({ conversation_id: conversationId }),
    outputSchema: z.object({ success: z.boolean(), conversation_id: z.string(), deleted: z.boolean() }),
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    async execute(input, context) {
      const deleted = await memory().deleteConversation(context.principal.tenant, input.conversation_id, context);
      const data = { success: true, conversation_id: input.conversation_id, deleted };
      return { data, text: JSON.stringify(data) };
    },
  });
}

function search(memory: MemoryAccess, openWorld: boolean): Tool {
  return defineTool({
    name: 'memory.conversation.search',
    title: 'Search conversations',
    description:
      'Finds messages relevant to a query across conversations (or in one), optionally within a time range, by words, meaning or both ' +
      '(`mode`, default hybrid). Each result has its message id, conversation, role, name, timestamp, metadata, score and a snippet.',
    inputSchema: z.strictObject({
      query: z.string().min(1).max(4096).describe('What to look for, in plain words'),
      conversation_id: conversationId.optional().describe('Only this conversation'),
      from: timeField.optional().describe('Not before this time (RFC 3339 or Unix seconds)'),
      to: timeField.optional().describe('Not after this time (RFC 3339 or Unix seconds)'),
      mode: modeField,
      limit: z.number().int().min(1).max(100).default(20).describe('Results (default 20)'),
    }),
    outputSchema: z.object({
      query: z.string(),
      mode: z.string(),
      count: z.number(),
      results: z.array(messageSchema.extend({ message_id: z.string(), conversation_id: z.string(), score: z.number(), snippet: z.string() })),
      status: statusSchema,
    }),
    annotations: { ...READ_ONLY_LOCAL, openWorldHint: openWorld },
    async execute(input, context) {
      const result = await memory().find(
        context.principal.tenant,
        { query: input.query, mode: input.mode, scope: 'messages', k: input.limit, conversationId: input.conversation_id, from: input.from, to: input.to },
        context,
      );
      const results = result.hits.flatMap((hit) =>
        hit.kind === 'message' ? [{ message_id: hit.message.id, ...describeMessage(hit.message), conversation_id: hit.message.conversationId, score: hit.score, snippet: hit.snippet }] : [],
      );
      return { data: { query: input.query, mode: input.mode, count: results.length, results, status: result.status } };
    },
  });
}

/** The original's names (§1.3), kept as aliases of the memory.conversation.* tools. */
const ALIASES: Record<string, string> = {
  'memory.conversation.create': 'conversation.create',
  'memory.conversation.add': 'conversation.add',
  'memory.conversation.get': 'conversation.get',
  'memory.conversation.list': 'conversation.list',
  'memory.conversation.search': 'conversation.search',
};

/** memory.conversation.* and the original's conversation.* aliases. */
export function conversationTools(memory: MemoryAccess, options: { embedderIsRemote: boolean }): Tool[] {
  const tools = [create(memory), add(memory), get(memory), list(memory), remove(memory), search(memory, options.embedderIsRemote)];
  const aliases = tools.flatMap((tool) => {
    const alias = ALIASES[tool.name];
    return alias === undefined ? [] : [{ ...tool, name: alias, title: `${tool.title ?? tool.name} (alias of ${tool.name})`, description: `Alias of ${tool.name}, the original Nexus name. ${tool.description}` }];
  });
  return [...tools, ...aliases];
}
