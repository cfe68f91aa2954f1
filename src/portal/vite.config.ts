import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * Builds the portal into dist/portal, which the Keyport server serves at `/`. `npm run build`
 * runs this after the server's own compile. For work on the portal alone, `npx vite --config
 * src/portal/vite.config.ts` serves it with hot reload and forwards API calls to a Keyport on
 * KEYPORT_URL (default http://127.0.0.1:8080).
 */
const api = process.env.KEYPORT_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../../dist/portal', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // The server's CSP allows no inline script or style: keep every asset a file.
    assetsInlineLimit: 0,
  },
  server: {
    proxy: Object.fromEntries(['/v1', '/oauth', '/.well-known'].map((path) => [path, { target: api, changeOrigin: false }])),
  },
});
