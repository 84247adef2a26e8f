import type { Resource } from '@modelcontextprotocol/sdk/types.js';
import { NexusError } from '../errors/index.js';
import type { ResourceContents, ResourceRegistry } from '../protocol/resources.js';
import { conversationUri, memoryUri, type MemoryService } from './memory-service.js';

const JSON_MIME = 'application/json';
/** Messages included when a conversation is read as a resource (the newest ones). */
const RESOURCE_MESSAGES = 1000;
const LISTED = 100;

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function json(uri: string, value: unknown): ResourceContents {
  return [{ uri, mimeType: JSON_MIME, text: JSON.stringify(value, null, 2) }];
}

/** A template variable, percent-decoded; a malformed escape names no resource. */
function decoded(uri: string, value: string | string[] | undefined): string {
  if (typeof value !== 'string') throw notFound(uri);
  try {
    return decodeURIComponent(value);
  } catch {
    throw notFound(uri);
  }
}

function notFound(uri: string): NexusError {
  return new NexusError('RESOURCE_NOT_FOUND', `Resource not found: ${uri}`, { details: { uri } });
}

/**
 * Memory as MCP resources: `nexus://memory/{namespace}/{key}` (one item) and
 * `nexus://conversations/{id}` (a conversation and its latest messages), JSON, scoped to the
 * reader's tenant. URIs percent-encode their parts (memoryUri/conversationUri build the canonical
 * form); subscribers get notifications/resources/updated after every write to the item.
 */
export function registerMemoryResources(resources: ResourceRegistry, memory: () => MemoryService): Array<() => void> {
  const item = resources.addTemplate({
    uriTemplate: 'nexus://memory/{namespace}/{key}',
    name: 'memory-item',
    title: 'Memory item',
    description: 'A key-value memory item: {namespace, key, value, tags, created_at, updated_at, expires_at}. Parts are percent-encoded.',
    mimeType: JSON_MIME,
    complete: {
      namespace: () => ['default'],
      key: async (value, context) => {
        const page = await memory().list(context.principal.tenant, { namespace: context.arguments['namespace'] ?? 'default', prefix: value, limit: LISTED });
        return page.items.map((entry) => entry.key);
      },
    },
    async list(context) {
      const page = await memory().list(context.principal.tenant, { namespace: 'default', limit: LISTED });
      return page.items.map((entry): Resource => ({ uri: memoryUri(entry.namespace, entry.key), name: entry.key, title: `Memory: ${entry.key}`, mimeType: JSON_MIME }));
    },
    async read(uri, variables, context) {
      const namespace = decoded(uri, variables['namespace']);
      const key = decoded(uri, variables['key']);
      const found = await memory().recall(context.principal.tenant, namespace, key);
      if (found === undefined) throw notFound(uri);
      return json(uri, {
        namespace: found.namespace,
        key: found.key,
        value: found.value,
        tags: found.tags,
        created_at: iso(found.createdAt),
        updated_at: iso(found.updatedAt),
        expires_at: found.expiresAt === null ? null : iso(found.expiresAt),
      });
    },
  });
  const conversation = resources.addTemplate({
    uriTemplate: 'nexus://conversations/{id}',
    name: 'conversation',
    title: 'Conversation',
    description: `A conversation and its latest ${RESOURCE_MESSAGES} messages in chronological order: {conversation, messages}.`,
    mimeType: JSON_MIME,
    async list(context) {
      const page = await memory().listConversations(context.principal.tenant, { limit: LISTED });
      return page.conversations.map(
        (entry): Resource => ({
          uri: conversationUri(entry.id),
          name: entry.title ?? `Conversation ${entry.id.slice(0, 8)}`,
          description: `Created: ${iso(entry.createdAt)}`,
          mimeType: JSON_MIME,
        }),
      );
    },
    async read(uri, variables, context) {
      const id = decoded(uri, variables['id']);
      const found = await memory().getConversation(context.principal.tenant, id);
      if (found === undefined) throw notFound(uri);
      const { page } = await memory().history(context.principal.tenant, { conversationId: id, limit: RESOURCE_MESSAGES });
      return json(uri, {
        conversation: { id: found.id, title: found.title, metadata: found.metadata, created_at: iso(found.createdAt), updated_at: iso(found.updatedAt), message_count: found.messageCount },
        messages: page.messages.map((message) => ({
          id: message.id,
          role: message.role,
          name: message.name,
          content: message.content,
          timestamp: iso(message.timestamp),
          created_at: iso(message.createdAt),
          metadata: message.metadata,
        })),
      });
    },
  });
  return [item, conversation];
}
