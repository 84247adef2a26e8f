import { z } from 'zod';
import { stat } from 'node:fs/promises';
import type { NexusConfig } from '../../config/index.js';
import { NexusError } from '../../errors/index.js';
import type { Logger } from '../../logging/index.js';
import { CommandAllowList } from '../../security/command-allowlist.js';
import { scrubbedEnv } from '../../security/process-runner.js';
import type { PathSandbox } from '../../security/path-sandbox.js';
import type { SandboxResolver } from '../../security/sandbox-resolver.js';
import { runForTool } from '../../security/tool-process.js';
import { defineTool, type Tool } from '../types.js';

/** The original's ceiling for `timeout_secs`; larger values are clamped to it, as there. */
export const MAX_COMMAND_TIMEOUT_SECS = 300;
/** Room for the kill grace and output drain, so the tool's own timeout answers first. */
const EXECUTOR_MARGIN_SECS = 15;
const MAX_STDIN_CHARS = 10 * 1024 * 1024;
/** How much partial output a timeout error carries in its details. */
const PARTIAL_OUTPUT_CHARS = 4096;

const noNul = (value: string): boolean => !value.includes('\0');

const inputSchema = z.strictObject({
  command: z.string().min(1).max(4096).refine(noNul, 'must not contain NUL').describe('Program to run: a name or absolute path from security.allowed_commands. No shell is involved.'),
  args: z.array(z.string().max(128 * 1024).refine(noNul, 'must not contain NUL')).max(4096).default([]).describe('Arguments, each passed as one argv element (no quoting, globbing or expansion)'),
  timeout_secs: z
    .number()
    .positive()
    .default(30)
    .transform((seconds) => Math.min(seconds, MAX_COMMAND_TIMEOUT_SECS))
    .describe(`Seconds before the process group is killed (default 30, at most ${MAX_COMMAND_TIMEOUT_SECS})`),
  cwd: z.string().min(1).refine(noNul, 'must not contain NUL').optional().describe('Working directory inside security.allowed_read_paths (relative to the first root; default: the first root)'),
  stdin: z.string().max(MAX_STDIN_CHARS).optional().describe('Text written to the standard input, which is then closed'),
});

const outputSchema = z.object({
  exit_code: z.number().int().describe('Exit status; -1 when the process ended by a signal'),
  success: z.boolean(),
  stdout: z.string(),
  stderr: z.string(),
  signal: z.string().nullable(),
  truncated_stdout: z.boolean(),
  truncated_stderr: z.boolean(),
  duration_ms: z.number().int(),
});

type CmdOutput = z.infer<typeof outputSchema>;

export interface CmdToolDeps {
  config: NexusConfig;
  logger: Logger;
  /** The server's environment snapshot: the source of PATH and of the command_env variables. */
  env: Readonly<Record<string, string | undefined>>;
  /** The file sandboxes; the working directory must be a folder inside the calling tenant's read roots. */
  sandboxes: Pick<SandboxResolver, 'forTenant'>;
}

/** The real path of the working directory: inside a read root (same rules as fs.*), and a folder. */
async function workingDirectory(sandbox: PathSandbox, requested: string | undefined): Promise<string> {
  const resolved = await sandbox.resolve(requested ?? '.', 'read');
  const stats = await stat(resolved).catch(() => undefined);
  if (stats === undefined) throw new NexusError('FILE_NOT_FOUND', `Working directory does not exist: ${requested ?? resolved}`, { details: { path: requested ?? resolved } });
  if (!stats.isDirectory()) throw new NexusError('NOT_A_DIRECTORY', `Working directory is not a folder: ${requested ?? resolved}`, { details: { path: requested ?? resolved } });
  return resolved;
}

function createCmdExec(deps: CmdToolDeps): Tool {
  const security = deps.config.security;
  const serverEnv = deps.env;
  const allowList = CommandAllowList.resolve(security.allowed_commands, { pathEnv: serverEnv['PATH'], logger: deps.logger });
  const childEnv = scrubbedEnv(security.command_env, serverEnv);
  const allowed = allowList.entries.map((command) => command.entry);
  return defineTool({
    name: 'cmd.exec',
    title: 'Run a command',
    description:
      'Runs an allowed program directly (no shell) and returns its exit code, stdout and stderr. ' +
      `Allowed programs: ${allowed.length > 0 ? allowed.join(', ') : 'none (security.allowed_commands is empty)'}. ` +
      'Output lines stream as progress notifications when the client asks for progress; a non-zero exit is reported as an error result that still carries the output.',
    inputSchema,
    outputSchema,
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    timeoutSecs: MAX_COMMAND_TIMEOUT_SECS + EXECUTOR_MARGIN_SECS,
    async execute(input, context) {
      const program = allowList.match(input.command);
      const cwd = await workingDirectory(deps.sandboxes.forTenant(context.principal.tenant), input.cwd);
      const outcome = await runForTool(context, {
        file: program.file,
        args: input.args,
        cwd,
        env: childEnv,
        stdin: input.stdin,
        timeoutMs: input.timeout_secs * 1000,
        maxOutputBytes: security.max_output_bytes,
      });
      if (outcome.stoppedBy === 'timeout') {
        throw new NexusError('TOOL_TIMEOUT', `Timeout after ${input.timeout_secs} seconds: ${input.command} and its process group were killed`, {
          details: {
            command: input.command,
            timeout_secs: input.timeout_secs,
            stdout: outcome.stdout.slice(-PARTIAL_OUTPUT_CHARS),
            stderr: outcome.stderr.slice(-PARTIAL_OUTPUT_CHARS),
          },
        });
      }
      const data: CmdOutput = {
        exit_code: outcome.exitCode ?? -1,
        success: outcome.exitCode === 0,
        stdout: outcome.stdout,
        stderr: outcome.stderr,
        signal: outcome.signal,
        truncated_stdout: outcome.truncatedStdout,
        truncated_stderr: outcome.truncatedStderr,
        duration_ms: outcome.durationMs,
      };
      return { data, text: JSON.stringify(data), isError: !data.success };
    },
  });
}

/** `cmd.exec`: the command sandbox (allow-list, scrubbed env, process-group kill, output caps). */
export function cmdTools(deps: CmdToolDeps): Tool[] {
  return [createCmdExec(deps)];
}
