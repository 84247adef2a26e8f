import type { Readable, Writable } from 'node:stream';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { isJsonRpcMessage } from './jsonrpc-shape.js';

/**
 * Newline-delimited JSON-RPC over a pair of streams (stdin/stdout for desktop clients).
 * Unlike a plain parser, a malformed line is answered — parse error (-32700) or invalid
 * request (-32600) with the request's id when one can be read — and the connection keeps
 * serving. Only protocol messages are ever written to the output stream.
 */
export class LineTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private buffer = '';
  private closed = false;

  constructor(
    private readonly input: Readable,
    private readonly output: Writable,
  ) {}

  async start(): Promise<void> {
    this.input.setEncoding('utf8');
    this.input.on('data', this.onData);
    this.input.on('end', this.onEnd);
    this.input.on('error', this.onStreamError);
    this.output.on('error', this.onStreamError);
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.closed) return;
    const line = `${JSON.stringify(message)}\n`;
    if (!this.output.write(line)) await new Promise<void>((resolve) => this.output.once('drain', resolve));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.input.off('data', this.onData);
    this.input.off('end', this.onEnd);
    this.input.off('error', this.onStreamError);
    this.input.pause();
    this.onclose?.();
  }

  private readonly onData = (chunk: string): void => {
    this.buffer += chunk;
    let newline = this.buffer.indexOf('\n');
    while (newline !== -1) {
      const line = this.buffer.slice(0, newline).replace(/\r$/, '');
      this.buffer = this.buffer.slice(newline + 1);
      if (line.trim() !== '') this.handleLine(line);
      newline = this.buffer.indexOf('\n');
    }
  };

  private readonly onEnd = (): void => {
    void this.close();
  };

  private readonly onStreamError = (error: Error): void => {
    this.onerror?.(error);
  };

  private handleLine(line: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      void this.send(errorResponse(null, ErrorCode.ParseError, 'Parse error: the line is not valid JSON'));
      return;
    }
    if (!isJsonRpcMessage(parsed)) {
      // Batches were removed in 2025-06-18; anything else that is not one JSON-RPC message is invalid.
      const id = readId(parsed);
      void this.send(errorResponse(id, ErrorCode.InvalidRequest, Array.isArray(parsed) ? 'Invalid Request: batches are not supported' : 'Invalid Request: not a JSON-RPC 2.0 message'));
      return;
    }
    this.onmessage?.(parsed);
  }
}

function readId(value: unknown): string | number | null {
  if (typeof value === 'object' && value !== null && 'id' in value) {
    const { id } = value;
    if (typeof id === 'string' || typeof id === 'number') return id;
  }
  return null;
}

function errorResponse(id: string | number | null, code: number, message: string): JSONRPCMessage {
  // id null is what JSON-RPC 2.0 prescribes when the request's id cannot be determined.
  return { jsonrpc: '2.0', id, error: { code, message } } as unknown as JSONRPCMessage;
}
