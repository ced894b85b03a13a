import { defineConfig } from 'vite';

// `npm run dev` proxies the API to a running `chronicle serve` (override
// with CHRONICLE_URL), WebSocket included, so the page and the API share an
// origin and no CORS is needed.
const target = process.env.CHRONICLE_URL ?? 'http://127.0.0.1:8000';

export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    target: 'es2022',
    // The bundle is committed and embedded in the server binary: keep it
    // small and byte-for-byte reproducible (content-hashed names, no maps).
    sourcemap: false,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
  server: {
    proxy: {
      '/graphql': { target, ws: true },
      '/graphiql': { target },
      '/readyz': { target },
    },
  },
});
