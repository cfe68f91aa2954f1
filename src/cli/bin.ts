// The keyport executable: run the CLI with the process's arguments.
import { runCli } from './main.js';

await runCli(process.argv);
