// Builds the console into ../assets/console as one script and one stylesheet with fixed names:
// the binary names them by the digest of their content (src/http/console.rs), so the output
// needs no manifest, and a rebuild from the locked packages gives the same bytes.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: '../assets/console',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // The licenses of every bundled package, beside the bundle.
    license: { fileName: 'LICENSES.md' },
    cssCodeSplit: false,
    modulePreload: false,
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 800,
    rolldownOptions: {
      input: 'src/main.tsx',
      output: {
        entryFileNames: 'console.js',
        assetFileNames: 'console[extname]',
        codeSplitting: false,
      },
    },
  },
});
