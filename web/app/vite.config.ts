// Vite builds the app into ../dist, which the Go package `web` embeds.
// Hashed file names under /assets/ let the server cache them forever.
import { defineConfig } from 'vite';
import { writeFileSync } from 'node:fs';

export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: '../dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    chunkSizeWarningLimit: 800,
  },
  plugins: [
    {
      // dist/.keep is committed so that go:embed finds the folder in a
      // fresh clone; emptyOutDir removes it, so write it back.
      name: 'plenary-keep',
      closeBundle() {
        writeFileSync(new URL('../dist/.keep', import.meta.url), '');
      },
    },
  ],
  server: {
    // `npm run dev` against a running `plenary serve` on the default port.
    proxy: {
      '/v1': { target: 'http://127.0.0.1:8080', ws: true },
      '/media': 'http://127.0.0.1:8080',
    },
  },
});
