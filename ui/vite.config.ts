import { defineConfig } from "vite";

// The app loads its page from the binary (no dev server): relative asset paths, one bundle,
// and pdf.js's worker as a separate file the CSP allows ('self').
export default defineConfig({
  base: "./",
  clearScreen: false,
  build: {
    target: "es2022",
    outDir: "dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts"],
  },
});
