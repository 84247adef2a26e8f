import { EventEmitter } from 'node:events';
import type { GetPromptResult, Prompt, PromptArgument } from '@modelcontextprotocol/sdk/types.js';
import { NexusError } from '../errors/index.js';
import type { Principal } from '../auth/principal.js';
import type { Completer } from './resources.js';

export interface PromptDefinition {
  name: string;
  title?: string;
  description?: string;
  arguments?: PromptArgument[];
  complete?: Record<string, Completer>;
  get(args: Record<string, string>, context: { principal: Principal; signal: AbortSignal }): Promise<GetPromptResult>;
}

/** Prompts from built-ins and plugins; validates required arguments before `get`. */
export class PromptRegistry extends EventEmitter<{ changed: [] }> {
  private readonly prompts = new Map<string, PromptDefinition>();

  add(prompt: PromptDefinition): () => void {
    if (this.prompts.has(prompt.name)) throw new NexusError('PLUGIN_INVALID', `Prompt ${prompt.name} is already registered`);
    this.prompts.set(prompt.name, prompt);
    this.emit('changed');
    return () => {
      if (this.prompts.delete(prompt.name)) this.emit('changed');
    };
  }

  list(): Prompt[] {
    return [...this.prompts.values()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((prompt) => ({
        name: prompt.name,
        ...(prompt.title === undefined ? {} : { title: prompt.title }),
        ...(prompt.description === undefined ? {} : { description: prompt.description }),
        ...(prompt.arguments === undefined ? {} : { arguments: prompt.arguments }),
      }));
  }

  async get(name: string, args: Record<string, string>, context: { principal: Principal; signal: AbortSignal }): Promise<GetPromptResult> {
    const prompt = this.find(name);
    const missing = (prompt.arguments ?? []).filter((argument) => argument.required === true && args[argument.name] === undefined).map((argument) => argument.name);
    if (missing.length > 0) {
      throw new NexusError('INVALID_ARGUMENTS', `Prompt ${name} is missing required argument(s): ${missing.join(', ')}`, {
        details: { prompt: name, problems: missing.map((field) => ({ field, message: 'required' })) },
      });
    }
    return prompt.get(args, context);
  }

  completer(name: string, argument: string): Completer | undefined {
    return this.prompts.get(name)?.complete?.[argument];
  }

  private find(name: string): PromptDefinition {
    const prompt = this.prompts.get(name);
    if (!prompt) throw new NexusError('PROMPT_NOT_FOUND', `Unknown prompt: ${name}`, { details: { prompt: name } });
    return prompt;
  }
}
