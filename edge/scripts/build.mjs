// Builds the collector for production: one ES module bundle, edge/dist/main.mjs, run by plain node.
// Run from source (node --import tsx) the collector needs about 115 MB more memory for compiling
// TypeScript and loading thousands of modules at start; a Raspberry Pi has better use for it.
// better-sqlite3 stays outside: it is a native module, loaded from node_modules.
import { build, transform } from "esbuild"
import * as Fs from "node:fs/promises"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../../", import.meta.url))
const require = createRequire(import.meta.url)

/**
 * The setup page's QR decoder (jsQR's browser build), served by the collector, goes into the bundle
 * as text: edge/src/listener/QrDecoder.ts, which reads it from node_modules when run from source, is
 * replaced by a module returning it, minified like the rest.
 */
const qrDecoderText = {
  name: "qr-decoder-text",
  setup(b) {
    b.onLoad({ filter: /[\\/]edge[\\/]src[\\/]listener[\\/]QrDecoder\.ts$/ }, async () => {
      const source = await Fs.readFile(require.resolve("jsqr/dist/jsQR.js"), "utf8")
      const { code } = await transform(source, { minify: true, legalComments: "inline" })
      return { contents: `export const qrDecoderScript = () => ${JSON.stringify(code)}`, loader: "js" }
    })
  }
}

await build({
  absWorkingDir: root,
  entryPoints: ["edge/src/main.ts"],
  outfile: "edge/dist/main.mjs",
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  external: ["better-sqlite3"],
  // Bundled CommonJS modules call require(); an ES module has none of its own.
  banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  legalComments: "none",
  // Node keeps every script's source text in its heap: minified, the bundle costs less than half.
  minify: true,
  logLevel: "warning",
  plugins: [qrDecoderText]
})
