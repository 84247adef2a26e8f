// Fixture plugin for the official MCP conformance suite (@modelcontextprotocol/conformance).
// The suite's server scenarios call tools, resources and prompts by fixed names; this module
// plugin provides them so the suite grades Nexus's protocol handling rather than missing names.
// Plain ESM JavaScript so it loads without a build; it uses only the plugin host passed to setup().

// 1×1 red PNG and a minimal WAV header: the smallest valid payloads of each media type.
const PNG_1X1 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';
const WAV_EMPTY = 'UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=';

const NO_ARGS = { type: 'object', properties: {}, additionalProperties: false };

const READ_ONLY = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };
const INTERACTIVE = { readOnlyHint: true, destructiveHint: false, idempotentHint: false, openWorldHint: true };

const text = (value) => ({ type: 'text', text: value });

/** A tool whose result is fixed content. */
function fixedTool(name, description, content) {
  return {
    name,
    title: name,
    description,
    inputSchema: NO_ARGS,
    annotations: READ_ONLY,
    source: 'fixture',
    async execute() {
      return { content };
    },
  };
}

/** A tool that asks the client to fill in a form and reports what came back. */
function elicitationTool(name, description, message, requestedSchema, argsSchema = NO_ARGS) {
  return {
    name,
    title: name,
    description,
    inputSchema: argsSchema,
    annotations: INTERACTIVE,
    source: 'fixture',
    async execute(args, ctx) {
      const result = await ctx.elicit({ mode: 'form', message: args.message ?? message, requestedSchema });
      return { content: [text(`Elicitation result: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`)] };
    },
  };
}

const waitFor = (ms, signal) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });

const tools = [
  fixedTool('test_simple_text', 'Returns one text block', [text('This is a simple text response for testing.')]),
  fixedTool('test_image_content', 'Returns one PNG image block', [{ type: 'image', data: PNG_1X1, mimeType: 'image/png' }]),
  fixedTool('test_audio_content', 'Returns one WAV audio block', [{ type: 'audio', data: WAV_EMPTY, mimeType: 'audio/wav' }]),
  fixedTool('test_embedded_resource', 'Returns one embedded text resource', [
    { type: 'resource', resource: { uri: 'test://embedded-resource', mimeType: 'text/plain', text: 'This is an embedded resource content.' } },
  ]),
  fixedTool('test_multiple_content_types', 'Returns text, image and embedded resource blocks together', [
    text('Multiple content types test:'),
    { type: 'image', data: PNG_1X1, mimeType: 'image/png' },
    { type: 'resource', resource: { uri: 'test://mixed-content-resource', mimeType: 'application/json', text: JSON.stringify({ test: 'data', value: 123 }) } },
  ]),
  {
    name: 'test_tool_with_logging',
    title: 'test_tool_with_logging',
    description: 'Sends three log notifications while it runs',
    inputSchema: NO_ARGS,
    annotations: READ_ONLY,
    source: 'fixture',
    async execute(_args, ctx) {
      for (const step of ['Tool execution started', 'Tool processing data', 'Tool execution completed']) {
        await ctx.log('info', step);
        await waitFor(20, ctx.signal);
      }
      return { content: [text('Tool with logging executed successfully')] };
    },
  },
  {
    name: 'test_tool_with_progress',
    title: 'test_tool_with_progress',
    description: 'Reports progress 0, 50 and 100 of 100',
    inputSchema: NO_ARGS,
    annotations: READ_ONLY,
    source: 'fixture',
    async execute(_args, ctx) {
      for (const progress of [0, 50, 100]) {
        await ctx.progress({ progress, total: 100, message: `Completed step ${progress} of 100` });
        if (progress < 100) await waitFor(20, ctx.signal);
      }
      return { content: [text('Progress reported')] };
    },
  },
  {
    name: 'test_error_handling',
    title: 'test_error_handling',
    description: 'Always fails, to show a tool error result',
    inputSchema: NO_ARGS,
    annotations: READ_ONLY,
    source: 'fixture',
    async execute() {
      throw new Error('This tool intentionally returns an error for testing');
    },
  },
  {
    name: 'test_sampling',
    title: 'test_sampling',
    description: 'Asks the client to sample an LLM completion for the prompt',
    inputSchema: { type: 'object', properties: { prompt: { type: 'string', description: 'The prompt to send to the LLM' } }, required: ['prompt'], additionalProperties: false },
    annotations: INTERACTIVE,
    source: 'fixture',
    async execute({ prompt }, ctx) {
      const result = await ctx.sample({ messages: [{ role: 'user', content: text(prompt) }], maxTokens: 100 });
      const reply = Array.isArray(result.content) ? result.content.find((block) => block.type === 'text')?.text : result.content.type === 'text' ? result.content.text : undefined;
      return { content: [text(`LLM response: ${reply ?? '(no text)'}`)] };
    },
  },
  elicitationTool(
    'test_elicitation',
    'Asks the user for a free-text response',
    'Please provide a response',
    { type: 'object', properties: { response: { type: 'string', description: "User's response" } }, required: ['response'] },
    { type: 'object', properties: { message: { type: 'string', description: 'The message to show the user' } }, required: ['message'], additionalProperties: false },
  ),
  // SEP-1034: every primitive field type carries a default the client can pre-fill.
  elicitationTool('test_elicitation_sep1034_defaults', 'Elicitation whose fields all carry defaults (SEP-1034)', 'Please review and update the form fields with defaults', {
    type: 'object',
    properties: {
      name: { type: 'string', description: 'User name', default: 'John Doe' },
      age: { type: 'integer', description: 'User age', default: 30 },
      score: { type: 'number', description: 'User score', default: 95.5 },
      status: { type: 'string', description: 'User status', enum: ['active', 'inactive', 'pending'], default: 'active' },
      verified: { type: 'boolean', description: 'Verification status', default: true },
    },
    required: [],
  }),
  // SEP-1330: the five enum shapes — untitled/titled single-select, legacy enumNames, untitled/titled multi-select.
  elicitationTool('test_elicitation_sep1330_enums', 'Elicitation with every enum schema variant (SEP-1330)', 'Please select options from the enum fields', {
    type: 'object',
    properties: {
      untitledSingle: { type: 'string', description: 'Select one option', enum: ['option1', 'option2', 'option3'] },
      titledSingle: {
        type: 'string',
        description: 'Select one option with titles',
        oneOf: [
          { const: 'value1', title: 'First Option' },
          { const: 'value2', title: 'Second Option' },
          { const: 'value3', title: 'Third Option' },
        ],
      },
      legacyEnum: { type: 'string', description: 'Select one option (legacy)', enum: ['opt1', 'opt2', 'opt3'], enumNames: ['Option One', 'Option Two', 'Option Three'] },
      untitledMulti: { type: 'array', description: 'Select multiple options', minItems: 1, maxItems: 3, items: { type: 'string', enum: ['option1', 'option2', 'option3'] } },
      titledMulti: {
        type: 'array',
        description: 'Select multiple options with titles',
        minItems: 1,
        maxItems: 3,
        items: {
          anyOf: [
            { const: 'value1', title: 'First Choice' },
            { const: 'value2', title: 'Second Choice' },
            { const: 'value3', title: 'Third Choice' },
          ],
        },
      },
    },
    required: [],
  }),
  {
    name: 'test_reconnection',
    title: 'test_reconnection',
    description: 'Closes its SSE response stream mid-call; the client must reconnect (Last-Event-ID) to get the result (SEP-1699)',
    inputSchema: NO_ARGS,
    annotations: READ_ONLY,
    source: 'fixture',
    async execute(_args, ctx) {
      ctx.client.closeStream?.();
      // Give the client time to notice the closed stream and reconnect before the result is sent.
      await waitFor(100, ctx.signal);
      return { content: [text('Reconnection test completed: the result arrived after the client reconnected.')] };
    },
  },
  {
    name: 'json_schema_2020_12_tool',
    title: 'json_schema_2020_12_tool',
    description: 'Input schema using JSON Schema 2020-12 keywords ($schema, $defs, $ref, additionalProperties) (SEP-1613)',
    inputSchema: {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      $defs: { address: { type: 'object', properties: { street: { type: 'string' }, city: { type: 'string' } } } },
      properties: { name: { type: 'string' }, address: { $ref: '#/$defs/address' } },
      additionalProperties: false,
    },
    annotations: READ_ONLY,
    source: 'fixture',
    async execute(args) {
      return { content: [text(`json_schema_2020_12_tool called with ${JSON.stringify(args)}`)] };
    },
  },
];

const staticResources = [
  { uri: 'test://static-text', name: 'static-text', title: 'Static text', description: 'A fixed text resource', mimeType: 'text/plain', text: 'This is the content of the static text resource.' },
  { uri: 'test://static-binary', name: 'static-binary', title: 'Static binary', description: 'A fixed binary resource (PNG)', mimeType: 'image/png', blob: PNG_1X1 },
  { uri: 'test://watched-resource', name: 'watched-resource', title: 'Watched resource', description: 'A resource clients can subscribe to', mimeType: 'text/plain', text: 'Watched resource content' },
];

const ARGUMENT_SUGGESTIONS = ['alpha', 'beta', 'gamma', 'delta'];

const prompts = [
  {
    name: 'test_simple_prompt',
    title: 'Simple prompt',
    description: 'A prompt without arguments',
    async get() {
      return { messages: [{ role: 'user', content: text('This is a simple prompt for testing.') }] };
    },
  },
  {
    name: 'test_prompt_with_arguments',
    title: 'Prompt with arguments',
    description: 'A prompt with two required arguments',
    arguments: [
      { name: 'arg1', description: 'First test argument', required: true },
      { name: 'arg2', description: 'Second test argument', required: true },
    ],
    // Completion: suggestions starting with what was typed so far.
    complete: Object.fromEntries(['arg1', 'arg2'].map((name) => [name, (value) => ARGUMENT_SUGGESTIONS.filter((candidate) => candidate.startsWith(value))])),
    async get({ arg1, arg2 }) {
      return { messages: [{ role: 'user', content: text(`Prompt with arguments: arg1='${arg1}', arg2='${arg2}'`) }] };
    },
  },
  {
    name: 'test_prompt_with_embedded_resource',
    title: 'Prompt with embedded resource',
    description: 'A prompt embedding the resource named by its argument',
    arguments: [{ name: 'resourceUri', description: 'URI of the resource to embed', required: true }],
    async get({ resourceUri }) {
      return {
        messages: [
          { role: 'user', content: { type: 'resource', resource: { uri: resourceUri, mimeType: 'text/plain', text: 'Embedded resource content for testing.' } } },
          { role: 'user', content: text('Please process the embedded resource above.') },
        ],
      };
    },
  },
  {
    name: 'test_prompt_with_image',
    title: 'Prompt with image',
    description: 'A prompt with image content',
    async get() {
      return {
        messages: [
          { role: 'user', content: { type: 'image', data: PNG_1X1, mimeType: 'image/png' } },
          { role: 'user', content: text('Please analyze the image above.') },
        ],
      };
    },
  },
];

export default {
  name: 'conformance-fixtures',
  version: '1.0.0',
  setup(host) {
    for (const tool of tools) host.registerTool(tool);
    for (const { text: body, blob, ...resource } of staticResources) {
      host.registerResource({
        ...resource,
        async read() {
          return [{ uri: resource.uri, mimeType: resource.mimeType, ...(blob === undefined ? { text: body } : { blob }) }];
        },
      });
    }
    host.registerResourceTemplate({
      uriTemplate: 'test://template/{id}/data',
      name: 'template',
      title: 'Template resource',
      description: 'JSON data for any id',
      mimeType: 'application/json',
      async read(uri, variables) {
        const id = String(variables.id);
        return [{ uri, mimeType: 'application/json', text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }) }];
      },
    });
    for (const prompt of prompts) host.registerPrompt(prompt);
  },
};
