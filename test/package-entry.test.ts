import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

// Plugin authors import the package by name; package.json "main"/"exports" must point at a real
// module (dist/index.js, built by `npm run build`) that carries the plugin API.
describe('package entry (nexus-mcp)', () => {
  it('exports definePlugin, defineTool and NexusError from the built package', () => {
    const script = `
      const api = await import('nexus-mcp');
      const plugin = api.definePlugin({ name: 'p', version: '1.0.0', setup() {} });
      const error = new api.NexusError('TOOL_NOT_FOUND', 'x');
      console.log(JSON.stringify({ plugin: plugin.name, define: typeof api.defineTool, code: error.code, known: 'TOOL_NOT_FOUND' in api.ERROR_CODES }));
    `;
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd(), encoding: 'utf8' });
    expect(JSON.parse(output)).toEqual({ plugin: 'p', define: 'function', code: 'TOOL_NOT_FOUND', known: true });
  });
});
