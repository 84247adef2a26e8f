import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { redactSecrets } from './logger.js';

export type MessageDirection = 'in' | 'out';

export interface RequestLogEntry {
  direction: MessageDirection;
  transport: string;
  session?: string | undefined;
  message: JSONRPCMessage;
}

/**
 * Writes every JSON-RPC message crossing a transport as one JSON line, with secrets redacted and
 * large payloads truncated (`--request-log FILE`). Lines carry the trace id of tool calls via
 * the `_meta` Nexus adds to results, so a line can be matched with log records.
 */
export class RequestLog {
  private readonly stream: WriteStream;

  constructor(file: string) {
    mkdirSync(path.dirname(file), { recursive: true });
    this.stream = createWriteStream(file, { flags: 'a', mode: 0o600 });
  }

  write(entry: RequestLogEntry): void {
    const record = {
      time: new Date().toISOString(),
      direction: entry.direction,
      transport: entry.transport,
      ...(entry.session === undefined ? {} : { session: entry.session }),
      message: redactSecrets(entry.message, { maxStringLength: 4096 }),
    };
    this.stream.write(`${JSON.stringify(record)}\n`);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.stream.end(resolve));
  }
}
