/**
 * The console's build: console/ → console/dist/, served by the service at /console (src/http owns
 * that route, its SPA fallback and its CSP). The CSP allows only 'self', so the HTML must load
 * one script and one stylesheet by URL: no inline module preload polyfill, no inlined assets.
 */
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: '/console/',
  plugins: [react()],
  // `npx vite --config console/vite.config.ts`: hot reload, the API of the service that ICP_URL
  // names (default: npm start's) behind the same origin
  server: {
    proxy: Object.fromEntries(['/graphql', '/assets/providers'].map((p) => [p, process.env.ICP_URL ?? 'http://127.0.0.1:4000'])),
  },
  build: {
    outDir: 'dist',
    // a rebuild (npm run build) never leaves a running service without its files; the previous
    // build's hashed assets stay behind, unreferenced (console/dist is git-ignored)
    emptyOutDir: false,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
});
