// env mode: each argument is NEXUS_ARG_<KEY>, all of them are NEXUS_ARGS_JSON; the plugin's own
// `env` entries are there too. Nothing else from the server's environment is, except the
// variables named in security.command_env.
const args = Object.fromEntries(Object.entries(process.env).filter(([name]) => name.startsWith('NEXUS_ARG_')));
if (process.argv[2] === 'json') {
  process.stdout.write(JSON.stringify({ args, all: JSON.parse(process.env.NEXUS_ARGS_JSON ?? '{}'), greeting: process.env.GREETING ?? null, variables: Object.keys(process.env).sort() }));
} else {
  console.log(`Hi ${process.env.NEXUS_ARG_NAME}`);
}
