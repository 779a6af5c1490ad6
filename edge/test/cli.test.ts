import { describe, expect, it } from "@effect/vitest"
import { randomBytes } from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Vm from "node:vm"
import * as QRCode from "qrcode"
import { productionLaunch } from "./ProductionLaunch"
import { fixturePath, HIKVISION_ANPR_DETECTION, ROOT } from "./cameras"
import { type EdgeRun, runProcess } from "./edgeCli"
import { collectorPort, launch, waitFor } from "./processes"

/** tsx start-up is slow on a 2-core machine: one invocation may take this long. */
const INVOCATION_MS = 30_000

type Run = EdgeRun

/** A command from the repository root; by default `npm run -s edge -- ...args`, as an operator runs it. */
const edge = (
  args: ReadonlyArray<string>,
  command: ReadonlyArray<string> = ["npm", "run", "-s", "edge", "--"],
  env: Record<string, string> = {}
): Promise<Run> => runProcess([...command, ...args], { ...process.env, ...env }, undefined, INVOCATION_MS)

const describeRun = (run: Run) => `exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`

/** stderr without npm's own warnings about the machine's npm configuration. */
const ownStderr = (run: Run) => run.stderr.split("\n").filter((l) => l !== "" && !l.startsWith("npm warn"))

describe("edge parse", () => {
  it("prints the Detection of a Hikvision ANPR alert as one JSON line", async () => {
    const run = await edge(["parse", "--vendor", "hikvision", fixturePath("hikvision/parkpow_hikvision_lpr_anpr.xml")])
    expect(run.code, describeRun(run)).toBe(0)
    const lines = run.stdout.split("\n").filter((l) => l !== "")
    expect(lines.map((l) => JSON.parse(l))).toEqual([HIKVISION_ANPR_DETECTION])
  }, INVOCATION_MS * 2)

  it("tells the photos of a read on stderr only", async () => {
    const run = await edge(["parse", "--vendor", "genetec", fixturePath("genetec/parkpow_snapshot-middleware_Genetec.json")])
    expect(run.code, describeRun(run)).toBe(0)
    expect(JSON.parse(run.stdout).plate).toEqual({ text: "9HKA742", confidence: 0.99 })
    expect(ownStderr(run)).toEqual([
      "genetec:ccd6761e-b2a6-4afc-b386-412d6529c4ec images: plate (3519 bytes, image/jpeg), scene (141672 bytes, image/jpeg)"
    ])
  }, INVOCATION_MS * 2)

  it("fails with one line saying what is wrong with a file that is not the vendor's payload", async () => {
    const file = fixturePath("hikvision/naveenrobo_vehicleDetect_plates_request_response.txt")
    const run = await edge(["parse", "--vendor", "hikvision", file])
    expect(run.code, describeRun(run)).not.toBe(0)
    expect(run.stdout).toBe("")
    expect(ownStderr(run)).toEqual([
      `error: ${file} is not a hikvision payload: not well-formed XML (line 15: Extra text at the end)`
    ])
  }, INVOCATION_MS * 2)
})

describe("edge camera-push", () => {
  it("shows a push camera (only push cameras) its URL and Basic/Digest password once --rotate has made its secret", async () => {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "alpr-cli-push-"))
    Fs.writeFileSync(Path.join(dir, "machine-id"), randomBytes(16).toString("hex"))
    Fs.writeFileSync(Path.join(dir, "config.yaml"), JSON.stringify({
      listen: { host: "127.0.0.1", port: 8123 },
      cameras: [{ id: "gate", vendor: "hikvision", push_from: "10.0.0.0/8" }, { id: "yard", vendor: "hikvision", mode: "pull" }]
    }))
    const env = { EDGE_DIR: dir, EDGE_MACHINE_ID_FILE: Path.join(dir, "machine-id") }
    const cameraOf = (run: Run) => {
      expect(run.code, describeRun(run)).toBe(0)
      const shown = JSON.parse(run.stdout) as { cameras: Array<Record<string, any>> }
      // Only push cameras have a push secret.
      expect(shown.cameras.map((c) => c["id"])).toEqual(["gate"])
      return shown.cameras[0]!
    }
    const rotated = cameraOf(await edge(["camera-push", "--camera", "gate", "--rotate"], undefined, env))
    const secret = /^http:\/\/127\.0\.0\.1:8123\/push\/([A-Za-z0-9_-]{24})$/.exec(rotated["push_url"])?.[1]
    expect(secret).toBeDefined()
    expect(rotated).toMatchObject({
      vendor: "hikvision",
      basic_or_digest: { url: "http://127.0.0.1:8123/cameras/gate", username: "gate", password: secret },
      push_from: "10.0.0.0/8"
    })
    expect(cameraOf(await edge(["camera-push"], undefined, env))["push_url"]).toBe(rotated["push_url"])
  }, INVOCATION_MS * 3)
})

describe("the production bundle", () => {
  it("builds with npm run edge:build and parses like the source", async () => {
    const build = await edge([], ["npm", "run", "-s", "edge:build"])
    expect(build.code, describeRun(build)).toBe(0)
    const file = fixturePath("hikvision/parkpow_hikvision_lpr_anpr.xml")
    const bundled = await edge(["parse", "--vendor", "hikvision", file], [process.execPath, "edge/dist/main.mjs"])
    const source = await edge(["parse", "--vendor", "hikvision", file])
    expect(bundled.code, describeRun(bundled)).toBe(0)
    expect(bundled.stdout).toBe(source.stdout)
    expect(bundled.stdout).toContain('"text":"PECT600"')

    // The setup page's QR decoder is in the bundle itself (a file of its own, loaded when first asked
    // for), and the bundled collector, started as systemd starts it, serves one that decodes.
    const filesOf = (dir: string): Array<string> =>
      Fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? filesOf(Path.join(dir, e.name)) : [Path.join(dir, e.name)]
      )
    expect(filesOf(Path.join(ROOT, "edge/dist")).filter((f) => Fs.readFileSync(f, "utf8").includes("invertFirst"))).toHaveLength(1)
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "alpr-cli-bundle-"))
    Fs.writeFileSync(Path.join(dir, "machine-id"), randomBytes(16).toString("hex"))
    const port = await collectorPort()
    Fs.writeFileSync(Path.join(dir, "config.yaml"), JSON.stringify({ listen: { host: "127.0.0.1", port } }))
    const production = productionLaunch(ROOT)
    expect(production.args).toEqual(["edge/dist/main.mjs", "run"])
    const collector = launch(
      production.args[0]!,
      production.args.slice(1),
      { ...production.env, LOG_LEVEL: "Info", EDGE_DIR: dir, EDGE_MACHINE_ID_FILE: Path.join(dir, "machine-id") },
      production.nodeOptions
    )
    try {
      const served = await waitFor("the bundled collector's QR decoder", async () => {
        if (collector.child.exitCode !== null) throw new Error(`collector exited:\n${collector.output.text}`)
        const response = await fetch(`http://127.0.0.1:${port}/setup/jsQR.js`)
        return response.ok ? { type: response.headers.get("content-type"), text: await response.text() } : undefined
      })
      expect(served.type).toBe("text/javascript; charset=utf-8")
      const text = "https://alpr.example.org/claim#code=7KQ2-M9XD-4TPA"
      expect(decodeWith(served.text, text)).toBe(text)
    } finally {
      await collector.kill("SIGKILL")
    }
  }, 180_000)
})

/** Runs a served jsQR as a browser would (a script defining `jsQR` on `self`) on the pixels of a QR code of `text`. */
const decodeWith = (script: string, text: string): string | undefined => {
  const { modules } = QRCode.create(text, { errorCorrectionLevel: "M" })
  const scale = 4
  const side = (modules.size + 8) * scale
  const pixels = new Uint8ClampedArray(side * side * 4).fill(255)
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const [mx, my] = [Math.floor(x / scale) - 4, Math.floor(y / scale) - 4]
      const dark = mx >= 0 && my >= 0 && mx < modules.size && my < modules.size && modules.data[my * modules.size + mx] === 1
      if (dark) pixels.fill(0, (y * side + x) * 4, (y * side + x) * 4 + 3)
    }
  }
  const browser: { self: { jsQR?: (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null } } = { self: {} }
  Vm.runInNewContext(script, browser)
  return browser.self.jsQR?.(pixels, side, side)?.data
}
