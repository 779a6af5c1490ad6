// Builds the collector for production: an ES module bundle, edge/dist/main.mjs, run by plain node, with
// the parts loaded only when needed (a Protect or Frigate camera's client, the setup page's QR decoder,
// the commands other than `run`) in chunks beside it, edge/dist/chunks/, loaded by main.mjs's import().
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
 * replaced by a module returning it, minified like the rest (a chunk of its own, loaded when the
 * setup page first asks for it).
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

/**
 * The npm package undici, which @effect/platform-node's HttpClient module imports for its fetch-based
 * clients, is left out: the collector uses the node:http client (see edge/src/uploader/Central.ts).
 * Bundled, undici ran at start and touched `globalThis.Headers`, which loads Node's own copy of
 * undici and compiles its WebAssembly HTTP parser: two HTTP stacks the collector never used, some
 * 20 MB of memory. Anything that reaches for it now fails at once, loudly.
 */
const withoutUndici = {
  name: "without-undici",
  setup(b) {
    b.onResolve({ filter: /^undici$/ }, () => ({ path: "undici", namespace: "without-undici" }))
    b.onLoad({ filter: /.*/, namespace: "without-undici" }, () => ({
      contents: `export default new Proxy({}, { get() { throw new Error("undici is not in the collector's bundle: use the node:http client") } })`,
      loader: "js"
    }))
  }
}

// No chunk of an earlier build left behind.
await Fs.rm(`${root}edge/dist`, { recursive: true, force: true })

await build({
  absWorkingDir: root,
  entryPoints: ["edge/src/main.ts"],
  outdir: "edge/dist",
  entryNames: "[name]",
  chunkNames: "chunks/[name]-[hash]",
  outExtension: { ".js": ".mjs" },
  // Each import() of the source a file of its own, compiled and held in memory only once loaded.
  splitting: true,
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
  plugins: [qrDecoderText, withoutUndici]
})
