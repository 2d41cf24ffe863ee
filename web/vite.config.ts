import { defineConfig } from 'vitest/config';

declare const process: { env: Record<string, string | undefined> };

// The dashboard is served by kiln-analytics (option web.root) next to the query API, so asset
// URLs are relative and routing uses the hash: any path the server knows is index.html or an asset.
export default defineConfig({
  base: './',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, target: 'es2022' },
  server: {
    // `npm run dev` against a running kiln: the query API is proxied so calls stay same-origin.
    proxy: { '/v1': process.env.KILN_ANALYTICS_URL ?? 'http://127.0.0.1:8081' },
  },
  test: { include: ['src/**/*.test.ts'], environment: 'node' },
});
