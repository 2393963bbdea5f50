import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Built by `npm run build:web` (and by `npm start` when web/dist is missing); served by the server.
export default defineConfig({
  base: '/',
  plugins: [react()],
  resolve: {
    // @xterm/headless's "module" field names a file the package does not ship.
    alias: { '@xterm/headless': '@xterm/headless/lib-headless/xterm-headless.mjs' },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 1500,
  },
});
