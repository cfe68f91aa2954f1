// `npm start` / `node dist/start.js`: run a Keyport node configured from the environment.
import { main } from './main.js';

await main();
