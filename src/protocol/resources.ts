import { EventEmitter } from 'node:events';
import { UriTemplate } from '@modelcontextprotocol/sdk/shared/uriTemplate.js';
import type { ReadResourceResult, Resource, ResourceTemplate } from '@modelcontextprotocol/sdk/types.js';
import { NexusError } from '../errors/index.js';
import type { Principal } from '../auth/principal.js';

export interface ResourceContext {
  readonly principal: Principal;
  readonly signal: AbortSignal;
}

export type ResourceContents = ReadResourceResult['contents'];

/** Completes one variable of a template or one prompt argument from what the user typed so far. */
export type Completer = (value: string, context: { arguments: Record<string, string>; principal: Principal }) => string[] | Promise<string[]>;

/** A resource at a fixed URI. */
export interface StaticResource {
  uri: string;
  name: string;
  title?: string;
  description?: string;
  mimeType?: string;
  read(context: ResourceContext): Promise<ResourceContents>;
}

/** A family of resources addressed by an RFC 6570 URI template. */
export interface TemplateResource {
  uriTemplate: string;
  name: string;
  title?: string;
  description?: string;
  mimeType?: string;
  complete?: Record<string, Completer>;
  /** Concrete resources of this template to include in resources/list (optional). */
  list?(context: ResourceContext): Promise<Resource[]>;
  read(uri: string, variables: Record<string, string | string[]>, context: ResourceContext): Promise<ResourceContents>;
}

interface CompiledTemplate {
  readonly definition: TemplateResource;
  readonly matcher: UriTemplate;
}

/**
 * Static resources and URI templates from built-ins and plugins. Emits `changed` for
 * `notifications/resources/list_changed`. Reading an unknown URI is RESOURCE_NOT_FOUND.
 */
export class ResourceRegistry extends EventEmitter<{ changed: [] }> {
  private readonly statics = new Map<string, StaticResource>();
  private readonly templates = new Map<string, CompiledTemplate>();

  addStatic(resource: StaticResource): () => void {
    if (this.statics.has(resource.uri)) throw new NexusError('PLUGIN_INVALID', `Resource ${resource.uri} is already registered`);
    this.statics.set(resource.uri, resource);
    this.emit('changed');
    return () => {
      if (this.statics.delete(resource.uri)) this.emit('changed');
    };
  }

  addTemplate(template: TemplateResource): () => void {
    if (this.templates.has(template.uriTemplate)) throw new NexusError('PLUGIN_INVALID', `Resource template ${template.uriTemplate} is already registered`);
    this.templates.set(template.uriTemplate, { definition: template, matcher: new UriTemplate(template.uriTemplate) });
    this.emit('changed');
    return () => {
      if (this.templates.delete(template.uriTemplate)) this.emit('changed');
    };
  }

  async list(context: ResourceContext): Promise<Resource[]> {
    const fixed = [...this.statics.values()].map(describeStatic);
    const listed = await Promise.all([...this.templates.values()].map((entry) => entry.definition.list?.(context) ?? Promise.resolve([])));
    return [...fixed, ...listed.flat()];
  }

  listTemplates(): ResourceTemplate[] {
    return [...this.templates.values()].map(({ definition }) => ({
      uriTemplate: definition.uriTemplate,
      name: definition.name,
      ...(definition.title === undefined ? {} : { title: definition.title }),
      ...(definition.description === undefined ? {} : { description: definition.description }),
      ...(definition.mimeType === undefined ? {} : { mimeType: definition.mimeType }),
    }));
  }

  async read(uri: string, context: ResourceContext): Promise<ResourceContents> {
    const fixed = this.statics.get(uri);
    if (fixed) return fixed.read(context);
    for (const { definition, matcher } of this.templates.values()) {
      const variables = matcher.match(uri);
      if (variables) return definition.read(uri, variables, context);
    }
    throw new NexusError('RESOURCE_NOT_FOUND', `Resource not found: ${uri}`, { details: { uri } });
  }

  /** True when a URI names a resource this registry can serve (for subscribe). */
  knows(uri: string): boolean {
    return this.statics.has(uri) || [...this.templates.values()].some(({ matcher }) => matcher.match(uri) !== null);
  }

  completer(uriTemplate: string, variable: string): Completer | undefined {
    return this.templates.get(uriTemplate)?.definition.complete?.[variable];
  }
}

function describeStatic(resource: StaticResource): Resource {
  return {
    uri: resource.uri,
    name: resource.name,
    ...(resource.title === undefined ? {} : { title: resource.title }),
    ...(resource.description === undefined ? {} : { description: resource.description }),
    ...(resource.mimeType === undefined ? {} : { mimeType: resource.mimeType }),
  };
}
