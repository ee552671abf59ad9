/// <reference types="vitest/config" />
// Build configuration: Preact through its Vite preset; hashed asset names for long-lived caching.
import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';

export default defineConfig({
  plugins: [preact()],
  build: {
    target: 'es2022',
    sourcemap: false,
    assetsDir: 'assets',
  },
  server: {
    proxy: {
      '/api': { target: 'http://127.0.0.1:4000', ws: true },
    },
  },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
  },
});
