import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { NexusError } from '../errors/index.js';
import type { ToolRegistry } from '../tools/registry.js';
import { compileSchema, lazyAjv, type AjvProvider } from '../tools/schema.js';
import { defineTool, type JsonSchemaObject, type Tool, type ToolContext, type ToolOutput } from '../tools/types.js';
import { stepItemsMeta, type CompiledWorkflow } from './definition.js';
import type { RunReport, WorkflowService } from './service.js';
import { RESERVED_WORKFLOW_NAMES } from './service.js';
import type { RunRecord, SavedWorkflow } from './store.js';

/** Room past workflows.timeout_secs so the engine's own deadline answers first (WORKFLOW_TIMEOUT, with a run record). */
const EXECUTOR_GRACE_SECS = 5;

const STEP_GRAMMAR =
  'Each step: {"id"?: "name", "tool": "tool.name", "args"?: {…}, "if"?: "condition", "on_error"?: "fail"|"continue"|"retry", ' +
  '"retries"?: n, "backoff_ms"?: ms, "timeout_secs"?: s, "foreach"?: "{{steps.x.items}}", "concurrency"?: n} or a group {"id"?, "parallel": [steps…]}. ' +
  'Args may use {{input.x}}, {{steps.<id>.path}}, {{prev.path}}, {{item}}/{{index}} (foreach); a string that is exactly one {{…}} keeps the value\'s type. ' +
  'A step missing a required argument receives the previous step\'s result in the first one (an HTTP response\'s body, a {value} envelope\'s value). ' +
  'Conditions: comparisons (== != < <= > >=), and/or/not, in, len(), exists(), empty(), contains(), starts_with(), ends_with().';

const stepRecordSchema = z.object({
  id: z.string(),
  kind: z.enum(['tool', 'parallel']),
  tool: z.string().optional(),
  group: z.string().optional(),
  status: z.enum(['pending', 'running', 'succeeded', 'failed', 'skipped', 'cancelled']),
  attempts: z.number().int(),
  started_at: z.string().optional(),
  finished_at: z.string().optional(),
  duration_ms: z.number().int().optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  items: z.object({ total: z.number().int(), succeeded: z.number().int(), failed: z.number().int() }).optional(),
});

const runResultSchema = z.object({
  run_id: z.string(),
  workflow: z.string(),
  version: z.number().int().nullable(),
  status: z.literal('succeeded'),
  output: z.unknown().describe('The output mapping rendered, or the last step\'s result'),
  steps: z.array(stepRecordSchema),
  duration_ms: z.number().int(),
});

const runSummarySchema = z.object({
  run_id: z.string(),
  workflow: z.string(),
  version: z.number().int().nullable(),
  status: z.enum(['running', 'succeeded', 'failed', 'cancelled']),
  principal: z.string(),
  started_at: z.string(),
  finished_at: z.string().nullable(),
  duration_ms: z.number().int().nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
});

const runDetailSchema = runSummarySchema.extend({
  input: z.unknown(),
  output: z.unknown(),
  output_truncated: z.boolean(),
  steps: z.array(stepRecordSchema),
});

const workflowName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, 'letters, digits, "_" and "-", starting with a letter, at most 64 characters')
  .refine((name) => !RESERVED_WORKFLOW_NAMES.has(name), 'is the name of a built-in workflow tool');

const inputObject = z.record(z.string(), z.unknown());
const RUN_ANNOTATIONS = { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true } as const;
const READ_ONLY = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;

/** The built-in workflow tools, bound to one service. */
export function workflowTools(service: WorkflowService): Tool[] {
  const timeoutSecs = service.limits.timeout_secs + EXECUTOR_GRACE_SECS;
  const ajv = lazyAjv();

  const run = defineTool({
    name: 'workflow.run',
    title: 'Run a workflow',
    description:
      'Runs steps that call other tools, in order, as you (same permissions, sandbox and limits as calling them directly), and records the run. ' +
      `${STEP_GRAMMAR} The whole workflow is checked before any step runs; every problem is listed by JSON path (WORKFLOW_INVALID). ` +
      'A failed step fails the workflow with that step\'s error code unless its on_error says otherwise.',
    inputSchema: z.strictObject({
      steps: z.array(z.unknown()).meta(stepItemsMeta('full')).describe('The steps, run in order'),
      name: z.string().min(1).max(128).default('unnamed').describe('A label for the run record'),
      input: inputObject.optional().describe('Values the steps read as {{input.<name>}}'),
      context: inputObject.optional().describe('Same as input (the original Nexus name); merged under input'),
      output: z.unknown().optional().describe('What the workflow returns: a value with {{…}} templates; default the last step\'s result'),
      timeout_secs: z.number().positive().max(86_400).optional().describe('Whole-run limit, at most workflows.timeout_secs'),
    }),
    outputSchema: runResultSchema,
    annotations: RUN_ANNOTATIONS,
    timeoutSecs,
    taskSupport: 'optional',
    async execute(args, context) {
      const workflow = service.compile({ steps: args.steps, output: args.output, timeout_secs: args.timeout_secs }, args.name);
      return report(await service.run({ workflow, input: { ...args.context, ...args.input }, context }), workflow);
    },
  });

  const chain = defineTool({
    name: 'tools.chain',
    title: 'Chain tools',
    description:
      'Runs tools one after another, each step\'s result feeding the next: a step missing a required argument receives the previous result in the first one ' +
      '(an HTTP response\'s body, a {value} envelope\'s value, else the whole result). Steps are {"id"?, "tool", "args"?}; args may use {{prev.x}}, {{steps.<id>.x}}, {{input.x}}. ' +
      'A plain sequential form of workflow.run; the run is recorded the same way.',
    inputSchema: z.strictObject({
      steps: z.array(z.unknown()).meta(stepItemsMeta('chain')).describe('[{"tool": "…", "args": {…}}, …]'),
      input: inputObject.optional().describe('Values the steps read as {{input.<name>}}'),
    }),
    outputSchema: runResultSchema,
    annotations: RUN_ANNOTATIONS,
    timeoutSecs,
    taskSupport: 'optional',
    async execute(args, context) {
      const workflow = service.compile({ steps: args.steps }, 'tools.chain', 'chain');
      return report(await service.run({ workflow, input: args.input ?? {}, context }), workflow);
    },
  });

  const define = defineTool({
    name: 'workflow.define',
    title: 'Save a workflow',
    description:
      'Saves a named workflow (validated like workflow.run) for later runs with workflow.execute or as its own tool `workflow.<name>` with your input schema. ' +
      'Redefining a name adds a new version; older versions stay readable with workflow.get. A definition that would call itself is refused (WORKFLOW_CYCLE).',
    inputSchema: z.strictObject({
      name: workflowName.describe('Also the tool name: workflow.<name>'),
      title: z.string().min(1).max(200).optional(),
      description: z.string().max(4000).default('').describe('What the workflow does (shown as its tool description)'),
      input_schema: inputObject.optional().describe('JSON Schema (type "object") for the input; default: any object'),
      inputs: z.array(z.string().min(1)).optional().describe('Input names (the original Nexus form): each becomes a required property'),
      steps: z.array(z.unknown()).meta(stepItemsMeta('full')).describe('The steps, as for workflow.run'),
      output: z.unknown().optional(),
      timeout_secs: z.number().positive().max(86_400).optional(),
    }),
    outputSchema: z.object({ name: z.string(), version: z.number().int(), tool: z.string(), created_at: z.string(), versions: z.array(z.number().int()) }),
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    async execute(args, context) {
      const tenant = context.principal.tenant;
      const inputSchema = args.input_schema ?? fromInputNames(args.inputs);
      const definition = { steps: args.steps, ...(args.output === undefined ? {} : { output: args.output }), ...(args.timeout_secs === undefined ? {} : { timeout_secs: args.timeout_secs }) };
      checkInputSchema(inputSchema, ajv);
      const clash = service.toolClash(args.name);
      if (clash !== undefined) {
        throw new NexusError('WORKFLOW_INVALID', `The name "${args.name}" would clash with the tool ${clash}`, { details: { problems: [{ path: '$.name', message: `workflow.${args.name} would clash with the tool ${clash}` }] } });
      }
      service.assertNoCycle(tenant, args.name, definition);
      service.compile(definition, args.name);
      const saved = await service.workflows.define({ tenant, name: args.name, title: args.title, description: args.description, inputSchema, definition });
      if (tenant === service.toolTenant) service.refreshTools();
      return { data: { name: saved.name, version: saved.version, tool: `workflow.${saved.name}`, created_at: saved.createdAt, versions: service.workflows.versions(tenant, saved.name) } };
    },
  });

  const list = defineTool({
    name: 'workflow.list',
    title: 'List saved workflows',
    description: 'Lists your saved workflows (latest version of each), by name.',
    inputSchema: z.strictObject({}),
    outputSchema: z.object({
      count: z.number().int(),
      workflows: z.array(z.object({ name: z.string(), version: z.number().int(), title: z.string().optional(), description: z.string(), tool: z.string(), steps: z.number().int(), created_at: z.string() })),
    }),
    annotations: READ_ONLY,
    async execute(_args, context) {
      const workflows = service.workflows.list(context.principal.tenant).map((saved) => ({
        name: saved.name,
        version: saved.version,
        ...(saved.title === undefined ? {} : { title: saved.title }),
        description: saved.description,
        tool: `workflow.${saved.name}`,
        steps: saved.definition.steps.length,
        created_at: saved.createdAt,
      }));
      return { data: { count: workflows.length, workflows } };
    },
  });

  const get = defineTool({
    name: 'workflow.get',
    title: 'Show a saved workflow',
    description: 'Returns a saved workflow\'s definition (latest version, or the one asked for) and the list of its versions.',
    inputSchema: z.strictObject({ name: z.string().min(1), version: z.number().int().positive().optional() }),
    outputSchema: z.object({
      name: z.string(),
      version: z.number().int(),
      versions: z.array(z.number().int()),
      title: z.string().optional(),
      description: z.string(),
      input_schema: z.record(z.string(), z.unknown()),
      steps: z.array(z.unknown()),
      output: z.unknown().optional(),
      timeout_secs: z.number().optional(),
      tool: z.string(),
      created_at: z.string(),
    }),
    annotations: READ_ONLY,
    async execute(args, context) {
      const saved = findSaved(service, context.principal.tenant, args.name, args.version);
      return {
        data: {
          name: saved.name,
          version: saved.version,
          versions: service.workflows.versions(saved.tenant, saved.name),
          ...(saved.title === undefined ? {} : { title: saved.title }),
          description: saved.description,
          input_schema: saved.inputSchema,
          ...saved.definition,
          tool: `workflow.${saved.name}`,
          created_at: saved.createdAt,
        },
      };
    },
  });

  const remove = defineTool({
    name: 'workflow.delete',
    title: 'Delete a saved workflow',
    description: 'Deletes a saved workflow (every version) and removes its workflow.<name> tool. Its past runs stay in workflow.runs.',
    inputSchema: z.strictObject({ name: z.string().min(1) }),
    outputSchema: z.object({ name: z.string(), deleted: z.boolean() }),
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    async execute(args, context) {
      const tenant = context.principal.tenant;
      if (!(await service.workflows.delete(tenant, args.name))) throw notFound(args.name);
      if (tenant === service.toolTenant) service.refreshTools();
      return { data: { name: args.name, deleted: true } };
    },
  });

  const execute = defineTool({
    name: 'workflow.execute',
    title: 'Run a saved workflow',
    description: 'Runs a saved workflow by name (latest version unless one is given) with an input checked against its input schema. Same result as calling workflow.<name>.',
    inputSchema: z.strictObject({
      name: z.string().min(1),
      input: inputObject.optional(),
      inputs: inputObject.optional().describe('Same as input (the original Nexus name)'),
      version: z.number().int().positive().optional(),
    }),
    outputSchema: runResultSchema,
    annotations: RUN_ANNOTATIONS,
    timeoutSecs,
    taskSupport: 'optional',
    async execute(args, context) {
      const saved = findSaved(service, context.principal.tenant, args.name, args.version);
      const checked = compileSchema(saved.inputSchema as JsonSchemaObject, ajv, 'input').validate({ ...args.inputs, ...args.input });
      if (!checked.ok) {
        const summary = checked.problems.map((problem) => `${problem.field}: ${problem.message}`).join('; ');
        throw new NexusError('INVALID_ARGUMENTS', `Invalid input for workflow "${saved.name}": ${summary}`, { details: { workflow: saved.name, problems: checked.problems } });
      }
      return runSaved(service, saved, checked.value as Record<string, unknown>, context);
    },
  });

  const runs = defineTool({
    name: 'workflow.runs',
    title: 'List workflow runs',
    description: 'Lists your workflow runs, newest first, optionally for one workflow or status; paginated with next_cursor.',
    inputSchema: z.strictObject({
      workflow: z.string().min(1).optional(),
      status: z.enum(['running', 'succeeded', 'failed', 'cancelled']).optional(),
      limit: z.number().int().min(1).max(100).default(20),
      cursor: z.string().optional(),
    }),
    outputSchema: z.object({ runs: z.array(runSummarySchema), next_cursor: z.string().optional() }),
    annotations: { ...READ_ONLY, idempotentHint: false },
    async execute(args, context) {
      const page = service.runs.list({ tenant: context.principal.tenant, workflow: args.workflow, status: args.status, limit: args.limit, cursor: args.cursor });
      return { data: { runs: page.runs.map(summary), ...(page.nextCursor ? { next_cursor: page.nextCursor } : {}) } };
    },
  });

  const runGet = defineTool({
    name: 'workflow.run_get',
    title: 'Show a workflow run',
    description: 'Returns one run: input, status, each step\'s status, attempts, timings and error, the output and the error.',
    inputSchema: z.strictObject({ run_id: z.string().min(1) }),
    outputSchema: runDetailSchema,
    annotations: { ...READ_ONLY, idempotentHint: false },
    async execute(args, context) {
      const record = service.runs.get(context.principal.tenant, args.run_id);
      if (!record) throw new NexusError('WORKFLOW_RUN_NOT_FOUND', `No workflow run "${args.run_id}"`, { details: { run_id: args.run_id } });
      return { data: { ...summary(record), input: record.input, output: record.output ?? null, output_truncated: record.outputTruncated === true, steps: record.steps } };
    },
  });

  return [run, chain, define, list, get, remove, execute, runs, runGet] as Tool[];
}

/** The `workflow.<name>` tool of a saved workflow (registered for the tool tenant, source "workflow"). */
export function savedWorkflowTool(service: WorkflowService, registry: ToolRegistry, saved: SavedWorkflow): Tool {
  const timeoutSecs = service.limits.timeout_secs + EXECUTOR_GRACE_SECS;
  return {
    name: `workflow.${saved.name}`,
    title: saved.title ?? `Workflow ${saved.name}`,
    description: `${saved.description || `Saved workflow "${saved.name}".`} (Saved workflow v${saved.version}, ${saved.definition.steps.length} step(s); runs as you and is recorded in workflow.runs.)`,
    inputSchema: saved.inputSchema as JsonSchemaObject,
    outputSchema: runResultSchema,
    annotations: derivedAnnotations(saved, registry),
    timeoutSecs,
    taskSupport: 'optional',
    source: 'workflow',
    async execute(input, context) {
      if (context.principal.tenant !== saved.tenant) throw notFound(saved.name);
      const current = findSaved(service, saved.tenant, saved.name, saved.version);
      return runSaved(service, current, (input ?? {}) as Record<string, unknown>, context);
    },
  };
}

async function runSaved(service: WorkflowService, saved: SavedWorkflow, input: Record<string, unknown>, context: ToolContext): Promise<ToolOutput> {
  const workflow = service.compile(saved.definition, saved.name);
  return report(await service.run({ workflow, input, context, saved: { name: saved.name, version: saved.version } }), workflow, saved.version);
}

/** A succeeded run becomes the tool's data; any other outcome is thrown with the step's code and the run id. */
function report(run: RunReport, workflow: CompiledWorkflow, version: number | null = null): ToolOutput {
  if (run.status === 'succeeded') {
    return { data: { run_id: run.runId, workflow: workflow.name, version, status: 'succeeded', output: run.output ?? null, steps: run.steps, duration_ms: run.durationMs } };
  }
  const error = run.error ?? new NexusError('INTERNAL_ERROR', `Workflow "${workflow.name}" ended as ${run.status} without an error`);
  throw new NexusError(error.code, error.message, {
    details: {
      ...error.details,
      run_id: run.runId,
      workflow: workflow.name,
      status: run.status,
      steps: run.steps.map((step) => ({ id: step.id, status: step.status, ...(step.error ? { error: step.error } : {}) })),
    },
    cause: error.cause,
  });
}

function findSaved(service: WorkflowService, tenant: string, name: string, version?: number): SavedWorkflow {
  const saved = service.workflows.get(tenant, name, version);
  if (!saved) throw notFound(name, version);
  return saved;
}

function notFound(name: string, version?: number): NexusError {
  return new NexusError('WORKFLOW_NOT_FOUND', `No saved workflow "${name}"${version === undefined ? '' : ` version ${version}`}`, { details: { workflow: name, ...(version === undefined ? {} : { version }) } });
}

function summary(record: RunRecord): z.infer<typeof runSummarySchema> {
  return {
    run_id: record.id,
    workflow: record.workflow,
    version: record.version,
    status: record.status,
    principal: record.principal,
    started_at: record.startedAt,
    finished_at: record.finishedAt ?? null,
    duration_ms: record.durationMs ?? null,
    error: record.error ? { code: record.error.code, message: record.error.message } : null,
  };
}

function fromInputNames(names: readonly string[] | undefined): Record<string, unknown> {
  if (names === undefined) return { type: 'object' };
  return { type: 'object', properties: Object.fromEntries(names.map((name) => [name, {}])), required: [...names] };
}

function checkInputSchema(schema: Record<string, unknown>, ajv: AjvProvider): void {
  const problems: Array<{ path: string; message: string }> = [];
  if (schema['type'] !== 'object') problems.push({ path: '$.input_schema.type', message: 'must be "object" (a tool\'s input is an object)' });
  try {
    ajv().compile(schema);
  } catch (error) {
    problems.push({ path: '$.input_schema', message: `not a valid JSON Schema: ${error instanceof Error ? error.message : String(error)}` });
  }
  if (problems.length > 0) throw new NexusError('WORKFLOW_INVALID', `The input schema is invalid: ${problems.map((problem) => problem.message).join('; ')}`, { details: { problems } });
}

/**
 * A saved workflow's hints follow from its steps: read-only and idempotent only if every step's
 * tool is, destructive or open-world if any is. Unknown hints count as the cautious side.
 */
function derivedAnnotations(saved: SavedWorkflow, registry: ToolRegistry): ToolAnnotations {
  const hints = toolNames(saved.definition.steps).map((name) => {
    try {
      return registry.resolve(name).tool.annotations ?? {};
    } catch {
      return {};
    }
  });
  return {
    readOnlyHint: hints.every((hint) => hint.readOnlyHint === true),
    destructiveHint: hints.some((hint) => hint.destructiveHint !== false),
    idempotentHint: hints.every((hint) => hint.idempotentHint === true),
    openWorldHint: hints.some((hint) => hint.openWorldHint !== false),
  };
}

function toolNames(steps: readonly unknown[]): string[] {
  return steps.flatMap((step) => {
    if (typeof step !== 'object' || step === null) return [];
    const record = step as Record<string, unknown>;
    if (Array.isArray(record['parallel'])) return toolNames(record['parallel']);
    return typeof record['tool'] === 'string' ? [record['tool']] : [];
  });
}
