import { defineConfig } from "vite";

// Preact with the automatic JSX runtime, no plugin needed. The build goes to
// dist/, which the Go package web embeds (go build needs no Node).
export default defineConfig({
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    // One small bundle for the app; the team inbox's reports and settings
    // are a chunk of their own, fetched when first opened (inbox.tsx).
    rollupOptions: { output: { manualChunks: undefined } },
  },
  server: { proxy: { "/api": { target: "http://127.0.0.1:8080", ws: true } } },
  test: { environment: "node", include: ["src/**/*.test.ts"] },
});
