import { z } from 'zod';
import { NexusError } from '../errors/index.js';
import { zodToJsonSchema } from '../tools/schema.js';
import type { ToolRegistry } from '../tools/registry.js';
import { ExpressionSyntaxError, parseExpression, pathsOf, type ExpressionNode, type PathNode } from './expression.js';
import { collectReferences, parseTemplate, propertyPath } from './template.js';

/** Step ids are plain identifiers so that `steps.<id>.x` never needs quoting (a "-" would read as minus). */
const STEP_ID = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_RETRIES = 10;

const stepCommon = {
  id: z.string().max(64).regex(STEP_ID, 'must be letters, digits and "_", not starting with a digit').optional(),
  description: z.string().max(2000).optional(),
  if: z.string().min(1).max(4000).optional().describe('Condition over earlier results; the step is skipped when it is false'),
  on_error: z.enum(['fail', 'continue', 'retry']).default('fail'),
  retries: z.number().int().min(0).max(MAX_RETRIES).optional().describe('Extra attempts with on_error "retry" (default 3)'),
  backoff_ms: z.number().int().min(0).max(60_000).default(250).describe('Delay before the first retry; doubles each time'),
  timeout_secs: z.number().positive().max(86_400).optional(),
};

const toolStepSchema = z.strictObject({
  ...stepCommon,
  tool: z.string().min(1).max(256),
  args: z.record(z.string(), z.unknown()).default({}),
  fail_if: z.string().min(1).max(4000).optional().describe('Condition over the call\'s `result` that makes a successful call count as failed (e.g. "result.status >= 500")'),
  foreach: z.union([z.string(), z.array(z.unknown())]).optional().describe('An array, or a {{reference}} to one; the step runs once per item'),
  concurrency: z.number().int().min(1).optional().describe('foreach items run at once (default 1)'),
});

const parallelStepSchema = z.strictObject({
  ...stepCommon,
  parallel: z.array(z.unknown()).min(1).describe('Tool steps run concurrently; results in declaration order'),
});

const chainStepSchema = z.strictObject({
  id: stepCommon.id,
  tool: z.string().min(1).max(256),
  args: z.record(z.string(), z.unknown()).default({}),
});

/** The parts of a workflow every entry point shares (workflow.run arguments, saved definitions). */
export const workflowBodySchema = z.strictObject({
  steps: z.array(z.unknown()).min(1),
  output: z.unknown().optional(),
  timeout_secs: z.number().positive().max(86_400).optional(),
});

/**
 * The step shape as JSON Schema, for the tools' advertised input schemas: clients see exactly
 * what a step may hold, while validation stays in compileWorkflow (which reports every problem by
 * JSON path instead of stopping at the first union mismatch). Built once per mode, on first use.
 */
const stepSchemas = new Map<'full' | 'chain', Record<string, unknown>>();

export function stepJsonSchema(mode: 'full' | 'chain'): Record<string, unknown> {
  let schema = stepSchemas.get(mode);
  if (schema === undefined) {
    schema = mode === 'chain' ? zodToJsonSchema(chainStepSchema, 'input') : fullStepJsonSchema();
    stepSchemas.set(mode, schema);
  }
  return schema;
}

function fullStepJsonSchema(): Record<string, unknown> {
  const tool = zodToJsonSchema(toolStepSchema, 'input');
  const parallel = zodToJsonSchema(parallelStepSchema, 'input');
  const properties = parallel['properties'] as Record<string, Record<string, unknown>>;
  properties['parallel'] = { ...properties['parallel'], items: tool };
  return { anyOf: [tool, parallel] };
}

/**
 * `.meta()` for a steps array whose items are described by stepJsonSchema. A getter, because zod
 * reads meta only when converting to JSON Schema: the conversion then happens when a client
 * first lists the tools instead of at every start-up.
 */
export function stepItemsMeta(mode: 'full' | 'chain'): { readonly items: Record<string, unknown> } {
  return {
    get items() {
      return stepJsonSchema(mode);
    },
  };
}

export type OnError = 'fail' | 'continue' | 'retry';

export interface Condition {
  readonly source: string;
  readonly node: ExpressionNode;
}

interface StepCommon {
  readonly id: string;
  /** JSON path of the step in the definition, for messages. */
  readonly at: string;
  readonly condition?: Condition | undefined;
  readonly onError: OnError;
  readonly retries: number;
  readonly backoffMs: number;
  readonly timeoutSecs?: number | undefined;
}

export interface ToolStep extends StepCommon {
  readonly kind: 'tool';
  readonly tool: string;
  readonly args: Record<string, unknown>;
  /** Turns a successful call into a failure (then on_error applies, retries included). */
  readonly failIf?: Condition | undefined;
  readonly foreach?: unknown;
  readonly concurrency: number;
}

export interface ParallelStep extends StepCommon {
  readonly kind: 'parallel';
  readonly children: readonly ToolStep[];
}

export type Step = ToolStep | ParallelStep;

/** A validated workflow, ready to run. */
export interface CompiledWorkflow {
  readonly name: string;
  readonly steps: readonly Step[];
  readonly output?: unknown;
  readonly timeoutSecs?: number | undefined;
  /** Tool steps, parallel children included (what workflows.max_steps limits). */
  readonly toolSteps: number;
}

export interface WorkflowLimits {
  readonly max_steps: number;
  readonly max_depth: number;
  readonly timeout_secs: number;
  readonly max_foreach_items: number;
  readonly max_concurrency: number;
}

export interface Problem {
  readonly path: string;
  readonly message: string;
}

export interface CompileOptions {
  readonly name: string;
  readonly registry: ToolRegistry;
  readonly limits: WorkflowLimits;
  /** `chain`: tools.chain, where steps are only {id, tool, args}. */
  readonly mode?: 'full' | 'chain';
}

const REFERENCE_ROOTS = new Set(['input', 'steps', 'prev', 'errors', 'item', 'index']);

/**
 * Validates a workflow completely before anything runs: shape, tools that exist, unique ids,
 * conditions that parse, templates that only name earlier steps, limits. Every problem is
 * reported at once, by JSON path, as WORKFLOW_INVALID.
 */
export function compileWorkflow(raw: unknown, options: CompileOptions): CompiledWorkflow {
  const problems: Problem[] = [];
  const body = workflowBodySchema.safeParse(raw);
  if (!body.success) {
    throw invalid(options.name, body.error.issues.map((issue) => ({ path: jsonPath(issue.path), message: issue.message })));
  }
  const rawSteps = body.data.steps;
  const toolSteps = rawSteps.reduce<number>((count, step) => count + (isRecord(step) && Array.isArray(step['parallel']) ? step['parallel'].length : 1), 0);
  if (toolSteps > options.limits.max_steps) {
    throw new NexusError('WORKFLOW_LIMIT_EXCEEDED', `Workflow "${options.name}" has ${toolSteps} tool steps; workflows.max_steps allows ${options.limits.max_steps}`, {
      details: { workflow: options.name, limit: 'max_steps', value: toolSteps, max: options.limits.max_steps },
    });
  }

  const ids = new Map<string, string>();
  const steps: Step[] = [];
  rawSteps.forEach((rawStep, index) => {
    const at = `$.steps[${index}]`;
    const step = parseStep(rawStep, { at, defaultId: `step_${index}`, options, problems });
    if (step === undefined) return;
    steps.push(step);
    for (const declared of step.kind === 'parallel' ? [step, ...step.children] : [step]) {
      const first = ids.get(declared.id);
      if (first !== undefined) problems.push({ path: `${declared.at}.id`, message: `Duplicate step id "${declared.id}" (first used at ${first})` });
      else ids.set(declared.id, declared.at);
    }
  });

  checkReferences(steps, body.data.output, problems, declaredIds(rawSteps));
  if (problems.length > 0) throw invalid(options.name, problems);
  return { name: options.name, steps, output: body.data.output, timeoutSecs: body.data.timeout_secs, toolSteps };
}

function invalid(name: string, problems: readonly Problem[]): NexusError {
  const summary = problems
    .slice(0, 5)
    .map((problem) => `${problem.path}: ${problem.message}`)
    .join('; ');
  const more = problems.length > 5 ? ` (and ${problems.length - 5} more)` : '';
  return new NexusError('WORKFLOW_INVALID', `Workflow "${name}" is invalid, nothing ran: ${summary}${more}`, { details: { workflow: name, problems } });
}

interface ParseContext {
  readonly at: string;
  readonly defaultId: string;
  readonly options: CompileOptions;
  readonly problems: Problem[];
}

function parseStep(raw: unknown, context: ParseContext): Step | undefined {
  const { at, options, problems } = context;
  if (options.mode === 'chain') {
    const parsed = chainStepSchema.safeParse(raw);
    if (!parsed.success) return reportIssues(parsed.error.issues, at, problems);
    return toolStep({ ...parsed.data, on_error: 'fail', backoff_ms: 0 }, context);
  }
  if (isRecord(raw) && 'parallel' in raw) {
    const parsed = parallelStepSchema.safeParse(raw);
    if (!parsed.success) return reportIssues(parsed.error.issues, at, problems);
    if (parsed.data.on_error === 'retry') problems.push({ path: `${at}.on_error`, message: 'a parallel group cannot be retried as a whole; set on_error "retry" on its steps' });
    const common = commonFields(parsed.data, context);
    const children = parsed.data.parallel.flatMap((child, index) => {
      const childAt = `${at}.parallel[${index}]`;
      if (isRecord(child) && 'parallel' in child) {
        problems.push({ path: `${childAt}.parallel`, message: 'parallel groups cannot be nested' });
        return [];
      }
      const step = parseStep(child, { ...context, at: childAt, defaultId: `${common.id}_${index}` });
      return step?.kind === 'tool' ? [step] : [];
    });
    return { ...common, kind: 'parallel', children };
  }
  const parsed = toolStepSchema.safeParse(raw);
  if (!parsed.success) return reportIssues(parsed.error.issues, at, problems);
  return toolStep(parsed.data, context);
}

type ToolStepInput = z.infer<typeof toolStepSchema> | (z.infer<typeof chainStepSchema> & { on_error: OnError; backoff_ms: number });

function toolStep(data: ToolStepInput, context: ParseContext): ToolStep {
  const { at, options, problems } = context;
  const common = commonFields(data, context);
  try {
    options.registry.resolve(data.tool);
  } catch {
    problems.push({ path: `${at}.tool`, message: `Unknown tool "${data.tool}"` });
  }
  const foreach = 'foreach' in data ? data.foreach : undefined;
  const concurrency = 'concurrency' in data ? data.concurrency : undefined;
  if (typeof foreach === 'string' && parseTemplateKind(foreach) !== 'whole') {
    problems.push({ path: `${at}.foreach`, message: 'must be an array or a single {{reference}} to one, e.g. "{{steps.list.items}}"' });
  }
  if (concurrency !== undefined && foreach === undefined) problems.push({ path: `${at}.concurrency`, message: 'concurrency only applies to foreach steps' });
  if (concurrency !== undefined && concurrency > options.limits.max_concurrency) {
    problems.push({ path: `${at}.concurrency`, message: `at most ${options.limits.max_concurrency} (workflows.max_concurrency)` });
  }
  if (Array.isArray(foreach) && foreach.length > options.limits.max_foreach_items) {
    problems.push({ path: `${at}.foreach`, message: `${foreach.length} items; workflows.max_foreach_items allows ${options.limits.max_foreach_items}` });
  }
  const failIfSource = 'fail_if' in data ? data.fail_if : undefined;
  const failIf = failIfSource === undefined ? undefined : parseCondition(failIfSource, `${at}.fail_if`, problems);
  return { ...common, kind: 'tool', tool: data.tool, args: data.args, failIf, foreach, concurrency: concurrency ?? 1 };
}

function parseTemplateKind(source: string): string {
  try {
    return parseTemplate(source).kind;
  } catch {
    return 'invalid';
  }
}

function commonFields(
  data: { id?: string | undefined; if?: string | undefined; on_error: OnError; retries?: number | undefined; backoff_ms: number; timeout_secs?: number | undefined },
  context: ParseContext,
): StepCommon {
  const { at, problems } = context;
  const condition = data.if === undefined ? undefined : parseCondition(data.if, `${at}.if`, problems);
  if (data.retries !== undefined && data.on_error !== 'retry') problems.push({ path: `${at}.retries`, message: 'retries needs on_error: "retry"' });
  return {
    id: data.id ?? context.defaultId,
    at,
    condition,
    onError: data.on_error,
    retries: data.on_error === 'retry' ? (data.retries ?? 3) : 0,
    backoffMs: data.backoff_ms,
    timeoutSecs: data.timeout_secs,
  };
}

function parseCondition(source: string, at: string, problems: Problem[]): Condition | undefined {
  try {
    return { source, node: parseExpression(source) };
  } catch (error) {
    problems.push({ path: at, message: error instanceof ExpressionSyntaxError ? error.message : String(error) });
    return undefined;
  }
}

function reportIssues(issues: readonly z.core.$ZodIssue[], at: string, problems: Problem[]): undefined {
  for (const issue of issues) problems.push({ path: jsonPath(issue.path, at), message: issue.message });
  return undefined;
}

interface ReferenceContext {
  readonly known: ReadonlySet<string>;
  readonly later: ReadonlySet<string>;
  readonly hasPrev: boolean;
  readonly inForeach: boolean;
  /** In fail_if: the call's own result. */
  readonly hasResult?: boolean;
}

/** Templates and conditions may only name earlier steps (a step cannot read its own or a later result). */
function checkReferences(steps: readonly Step[], output: unknown, problems: Problem[], declared: ReadonlySet<string>): void {
  const all = new Set([...declared, ...steps.flatMap((step) => (step.kind === 'parallel' ? [step.id, ...step.children.map((child) => child.id)] : [step.id]))]);
  const known = new Set<string>();
  steps.forEach((step, index) => {
    const base = { known, later: all, hasPrev: index > 0 };
    const members = step.kind === 'parallel' ? [step, ...step.children] : [step];
    for (const member of members) {
      if (member.condition) checkPaths(pathsOf(member.condition.node), `${member.at}.if`, { ...base, inForeach: false }, problems);
      if (member.kind !== 'tool') continue;
      const inForeach = member.foreach !== undefined;
      if (member.failIf) checkPaths(pathsOf(member.failIf.node), `${member.at}.fail_if`, { ...base, inForeach, hasResult: true }, problems);
      checkCollected(collectReferences(member.args, `${member.at}.args`), { ...base, inForeach }, problems);
      if (inForeach) checkCollected(collectReferences(member.foreach, `${member.at}.foreach`), { ...base, inForeach: false }, problems);
    }
    for (const member of members) known.add(member.id);
  });
  if (output !== undefined) checkCollected(collectReferences(output, '$.output'), { known, later: all, hasPrev: true, inForeach: false }, problems);
}

function checkCollected(found: ReturnType<typeof collectReferences>, context: ReferenceContext, problems: Problem[]): void {
  for (const entry of found) {
    if ('error' in entry) problems.push({ path: entry.at, message: entry.error });
    else checkPaths([entry.path], entry.at, context, problems);
  }
}

function checkPaths(paths: readonly PathNode[], at: string, context: ReferenceContext, problems: Problem[]): void {
  for (const path of paths) {
    const message = referenceProblem(path, context);
    if (message !== undefined) problems.push({ path: at, message });
  }
}

function referenceProblem(path: PathNode, context: ReferenceContext): string | undefined {
  if (path.root === 'result') return context.hasResult ? undefined : `{{${path.text}}}: "result" is only available in fail_if`;
  if (!REFERENCE_ROOTS.has(path.root)) return `{{${path.text}}}: unknown root "${path.root}" (use input, steps, prev, errors, item or index)`;
  if ((path.root === 'item' || path.root === 'index') && !context.inForeach) return `{{${path.text}}}: "${path.root}" is only available in the args of a foreach step`;
  if (path.root === 'prev' && !context.hasPrev) return `{{${path.text}}}: the first step has no previous result`;
  if (path.root === 'steps' || path.root === 'errors') {
    const [id] = path.segments;
    if (id === undefined) return undefined;
    if (typeof id !== 'string') return `{{${path.text}}}: expected a step id after "${path.root}."`;
    if (context.known.has(id)) return undefined;
    if (context.later.has(id)) return `{{${path.text}}}: step "${id}" has not run yet at this point (only earlier steps can be referenced)`;
    return `{{${path.text}}}: there is no step "${id}"`;
  }
  return undefined;
}

/** Ids written in the raw steps, so a reference to a step that has its own problems is not also reported as unknown. */
function declaredIds(rawSteps: readonly unknown[]): Set<string> {
  const ids = new Set<string>();
  for (const step of rawSteps) {
    if (!isRecord(step)) continue;
    if (typeof step['id'] === 'string') ids.add(step['id']);
    if (Array.isArray(step['parallel'])) for (const child of step['parallel']) if (isRecord(child) && typeof child['id'] === 'string') ids.add(child['id']);
  }
  return ids;
}

/** `$.steps[0].args.url` from a zod issue path. */
export function jsonPath(path: readonly PropertyKey[], base = '$'): string {
  return path.reduce<string>((out, segment) => out + (typeof segment === 'number' ? `[${segment}]` : propertyPath(String(segment))), base);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
