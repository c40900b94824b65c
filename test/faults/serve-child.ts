// `ccauth serve` from the TypeScript sources, as its own process (used by the fault tests, so that
// they run the code under test whether or not dist/ is built and fresh).
import { main } from '../../src/cli/main.js';

await main(process.argv);
