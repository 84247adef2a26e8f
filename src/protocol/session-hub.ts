import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { Logger } from '../logging/index.js';

/** One connected MCP client: its SDK server and what it subscribed to. */
export interface ProtocolSession {
  readonly id: string;
  readonly transport: string;
  readonly server: Server;
  readonly subscriptions: Set<string>;
  /** Tenant of the principal that opened the session; resource updates stay within it. */
  tenant: string;
}

/**
 * Every live protocol session, so that registry changes become `list_changed` notifications and
 * resource changes reach their subscribers. Sending is best effort: a session that went away
 * between the change and the send must not break the others.
 */
export class SessionHub {
  private readonly sessions = new Map<string, ProtocolSession>();

  constructor(private readonly logger: Logger) {}

  add(session: ProtocolSession): void {
    this.sessions.set(session.id, session);
  }

  remove(id: string): void {
    this.sessions.delete(id);
  }

  get size(): number {
    return this.sessions.size;
  }

  all(): ProtocolSession[] {
    return [...this.sessions.values()];
  }

  broadcast(kind: 'tools' | 'resources' | 'prompts'): void {
    for (const session of this.sessions.values()) {
      const send =
        kind === 'tools' ? () => session.server.sendToolListChanged() : kind === 'resources' ? () => session.server.sendResourceListChanged() : () => session.server.sendPromptListChanged();
      this.deliver(session, send);
    }
  }

  /** notifications/resources/updated to every session subscribed to `uri` (within `tenant` when given). */
  resourceUpdated(uri: string, tenant?: string): void {
    for (const session of this.sessions.values()) {
      if (!session.subscriptions.has(uri) || (tenant !== undefined && session.tenant !== tenant)) continue;
      this.deliver(session, () => session.server.sendResourceUpdated({ uri }));
    }
  }

  private deliver(session: ProtocolSession, send: () => Promise<void>): void {
    if (session.server.transport === undefined) return;
    send().catch((error: unknown) => this.logger.debug({ err: error, session: session.id }, 'notification not delivered'));
  }
}
