import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { z } from 'zod';
import type { JsonSchemaObject, ToolSchema } from './types.js';

/** One problem with a tool's arguments, named by field path. */
export interface FieldProblem {
  field: string;
  message: string;
}

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; problems: FieldProblem[] };

/** Validates against either a zod schema or a JSON Schema, reporting problems the same way. */
export interface CompiledSchema<T> {
  readonly jsonSchema: JsonSchemaObject;
  validate(value: unknown): ValidationResult<T>;
}

function isZodSchema(schema: ToolSchema<unknown>): schema is z.ZodType {
  return schema instanceof z.ZodType;
}

// ajv-formats is CJS; its default export arrives wrapped under Node's ESM interop.
type AddFormats = (ajv: Ajv2020) => unknown;
const addFormats: AddFormats =
  (addFormatsModule as unknown as { default?: AddFormats }).default ?? (addFormatsModule as unknown as AddFormats);

/**
 * One Ajv per registry: compiled validators are cached by it. Remote $refs are never fetched.
 * `useDefaults` (the default) fills in defaults, mutating what it validates: right for arguments
 * (validated on a copy), wrong for a tool's output, which is checked as it will be sent.
 */
export function createAjv(options: { useDefaults?: boolean } = {}): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: false, useDefaults: options.useDefaults ?? true, validateFormats: true });
  addFormats(ajv);
  return ajv;
}

/** An Ajv made on first use: setting one up (meta-schemas, formats) is a start-up cost most tools never need. */
export type AjvProvider = () => Ajv2020;

export function lazyAjv(options: { useDefaults?: boolean } = {}): AjvProvider {
  let ajv: Ajv2020 | undefined;
  return () => (ajv ??= createAjv(options));
}

/**
 * Validates a tool's arguments (`input`: zod parses them, applying defaults and transforms; JSON
 * Schema through `ajv`, on a copy) or its output (`output`: see outputSchema).
 */
export function compileSchema<T>(schema: ToolSchema<T>, ajv: AjvProvider, io: 'input' | 'output'): CompiledSchema<T> {
  if (io === 'output') return outputSchema(schema, ajv);
  if (isZodSchema(schema)) {
    // Converted on first use (tools/list, workflow piping), not at registration: it is the
    // costliest part of registering a tool and a process that is only started pays it for nothing.
    let jsonSchema: JsonSchemaObject | undefined;
    return {
      get jsonSchema() {
        jsonSchema ??= zodToJsonSchema(schema, io);
        return jsonSchema;
      },
      validate(value) {
        const result = schema.safeParse(value);
        if (result.success) return { ok: true, value: result.data };
        return { ok: false, problems: result.error.issues.map((issue) => ({ field: fieldName(issue.path), message: issue.message })) };
      },
    };
  }
  let validator: ValidateFunction | undefined;
  return {
    jsonSchema: schema,
    validate(value) {
      validator ??= ajv().compile(schema);
      // useDefaults mutates: validate a copy so the caller's arguments stay as sent.
      const copy = structuredClone(value);
      if (validator(copy)) return { ok: true, value: copy as T };
      return { ok: false, problems: (validator.errors ?? []).map(ajvProblem) };
    },
  };
}

/**
 * A tool's output is checked against the JSON Schema advertised in tools/list (a zod schema
 * converted once), with Ajv's compiled validator: exactly what a client checks the result
 * against, and nothing is copied or parsed. zod's parse of a search result (ten hits) took
 * ~30 µs per call, rebuilding every object it checked. `ajv` must not fill in defaults: the
 * output is checked as it will be sent.
 */
function outputSchema<T>(schema: ToolSchema<T>, ajv: AjvProvider): CompiledSchema<T> {
  let jsonSchema: JsonSchemaObject | undefined;
  let validator: ValidateFunction | undefined;
  const advertised = (): JsonSchemaObject => (jsonSchema ??= isZodSchema(schema) ? zodToJsonSchema(schema, 'output') : schema);
  return {
    get jsonSchema() {
      return advertised();
    },
    validate(value) {
      validator ??= ajv().compile(advertised());
      if (validator(value)) return { ok: true, value: value as T };
      return { ok: false, problems: (validator.errors ?? []).map(ajvProblem) };
    },
  };
}

/** A zod schema as the JSON Schema (2020-12) advertised to clients, without the `$schema` key. */
export function zodToJsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchemaObject {
  const jsonSchema = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchemaObject;
  delete jsonSchema['$schema'];
  return jsonSchema;
}

function ajvProblem(error: ErrorObject): FieldProblem {
  const base = error.instancePath.split('/').filter(Boolean);
  const missing = error.keyword === 'required' ? String((error.params as { missingProperty?: string }).missingProperty ?? '') : '';
  const extra = error.keyword === 'additionalProperties' ? String((error.params as { additionalProperty?: string }).additionalProperty ?? '') : '';
  const segments = [...base, ...(missing ? [missing] : []), ...(extra ? [extra] : [])];
  return { field: segments.length ? segments.join('.') : '(root)', message: extra ? 'unknown field' : (error.message ?? 'invalid') };
}

function fieldName(path: PropertyKey[]): string {
  return path.length === 0 ? '(root)' : path.map(String).join('.');
}
