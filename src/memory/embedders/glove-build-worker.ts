// Worker-thread entry for building the GloVe table off the server's main thread (see
// buildOffThread in glove-cache.ts). A file of its own so that both the compiled tree and the
// start-up bundle have a module a Worker can be started from by URL.
import { runBuildWorker } from './glove-cache.js';

await runBuildWorker();
