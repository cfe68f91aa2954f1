#!/usr/bin/env node
// The keyport command: the compiled CLI (npm install builds it into dist/).
import('../dist/cli/bin.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli')) {
    console.error('keyport is not built yet: run "npm install" (or "npm run build") in the Keyport folder first.');
    process.exit(2);
  }
  throw err;
});
