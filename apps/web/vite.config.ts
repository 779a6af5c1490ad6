import tailwindcss from "@tailwindcss/vite"
import { defineConfig, type Plugin } from "vite"
import { gzipSync } from "node:zlib"
import * as Fs from "node:fs"
import * as Path from "node:path"

/**
 * Writes a .gz beside every text file of the build (the server sends it as it is), and reports the
 * JavaScript a first visit loads: the entry chunk and everything it imports statically.
 */
const gzipAndReport = (): Plugin => ({
  name: "alpr-gzip-and-report",
  apply: "build",
  writeBundle(options, bundle) {
    const outDir = options.dir!
    const gzipped = new Map<string, number>()
    for (const file of Object.keys(bundle)) {
      if (!/\.(js|css|html|svg|webmanifest|json)$/.test(file)) continue
      const zipped = gzipSync(Fs.readFileSync(Path.join(outDir, file)), { level: 9 })
      Fs.writeFileSync(Path.join(outDir, `${file}.gz`), zipped)
      gzipped.set(file, zipped.length)
    }
    const entry = Object.values(bundle).find((chunk) => chunk.type === "chunk" && chunk.isEntry)
    if (entry?.type !== "chunk") return
    const initial = new Set<string>()
    const visit = (file: string) => {
      if (initial.has(file)) return
      initial.add(file)
      const chunk = bundle[file]
      if (chunk?.type === "chunk") chunk.imports.forEach(visit)
    }
    visit(entry.fileName)
    const initialJs = [...initial].reduce((sum, file) => sum + (gzipped.get(file) ?? 0), 0)
    const report = {
      initial_js_gzip_bytes: initialJs,
      initial_files: [...initial],
      chunks: Object.fromEntries([...gzipped].filter(([file]) => file.endsWith(".js")))
    }
    Fs.writeFileSync(Path.join(outDir, "bundle-report.json"), JSON.stringify(report, null, 2) + "\n")
    this.info(`initial JavaScript of the operator view: ${(initialJs / 1024).toFixed(1)} KiB gzipped (${initial.size} files)`)
  }
})

const server = process.env.ALPR_SERVER ?? "http://localhost:8080"

export default defineConfig({
  plugins: [tailwindcss(), gzipAndReport()],
  build: {
    target: "es2022",
    // Each chunk's size is reported gzipped by the plugin above, once.
    reportCompressedSize: false,
    chunkSizeWarningLimit: 600,
    rollupOptions: {
      output: {
        // React changes less often than the app: its own file stays cached across deployments.
        manualChunks: (id) => (/node_modules\/(react|react-dom|scheduler)\//.test(id) ? "react" : undefined)
      }
    }
  },
  server: {
    // The API and both WebSockets live on the server; the Origin check passes as Host is kept.
    proxy: {
      "/api": { target: server, ws: true },
      "/rpc": { target: server, ws: true },
      "/health": server
    }
  }
})
