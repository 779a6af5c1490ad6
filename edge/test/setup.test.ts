import * as Effect from "effect/Effect"
import { randomBytes } from "node:crypto"
import * as Fs from "node:fs"
import * as Http from "node:http"
import type * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import type { Browser } from "playwright-core"
import * as QRCode from "qrcode"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Yaml from "yaml"
import { testCameraConnection } from "../src/adapters/pull/ConnectionTest"
import { CameraConfig } from "../src/config/EdgeConfig"
import { pushSecretKey } from "../src/listener/PushAuth"
import { makeSecretStore } from "../src/provisioning/Secrets"
import * as Schema from "effect/Schema"
import { LAN_NAME, launchChromium } from "./browser"
import { edge } from "./edgeCli"
import { type FakeHikvision, type FakeProtect, startFakeHikvision, startFakeProtect } from "./fakeCameras"
import { type FakeCentral, startFakeCentral } from "./fakeCentral"
import { collectorPort, killAll, launch, type Proc, waitFor } from "./processes"

/**
 * Claiming a collector and adding its cameras from its device page: a real collector process (`edge
 * run`) not claimed yet, a fake central server speaking the claim, heartbeat and upload contracts,
 * fake cameras speaking Hikvision's ISAPI with Digest and UniFi OS's login, and Chromium for the
 * page's script (the QR code read from a photo, the camera wizard). Requests from 127.0.0.1 and
 * 127.0.0.2 stand for two phones on the site network.
 */

const PIN = "north-gate-2468"
const CODE = "7KQ2-M9XD-4TPA"
const HIK_PASSWORD = "hik-Secret-9"
const PROTECT_PASSWORD = "protect-Secret-7"

interface Answer {
  readonly status: number
  readonly headers: Http.IncomingHttpHeaders
  readonly text: string
  readonly json: any
}

interface Device {
  readonly dir: string
  /** the page as a phone on the site network opens it: plain http, not a secure context */
  readonly lan: string
  readonly env: Record<string, string>
  readonly base: string
  readonly proc: Proc
  readonly call: (
    from: "127.0.0.1" | "127.0.0.2",
    method: string,
    path: string,
    options?: { readonly pin?: string; readonly json?: unknown; readonly body?: string; readonly contentType?: string }
  ) => Promise<Answer>
  readonly secrets: () => Promise<Readonly<Record<string, string>>>
  readonly status: () => Promise<Record<string, any>>
  readonly layer: (name: string) => unknown
}

/** A collector directory with a push camera and no claim, its PIN set with `edge set-pin` when given, running `edge run`. */
const startUnclaimed = async (options: { readonly pin?: string } = {}): Promise<Device> => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "alpr-setup-"))
  const machineIdFile = Path.join(dir, "machine-id")
  Fs.writeFileSync(machineIdFile, randomBytes(16).toString("hex"))
  const port = await collectorPort()
  Fs.writeFileSync(Path.join(dir, "config.yaml"), Yaml.stringify({
    listen: { host: "127.0.0.1", port },
    upload: { window_seconds: 0.5, max_backoff_seconds: 2 },
    heartbeat_seconds: 1,
    cameras: [{ id: "gate", vendor: "generic", name: "Gate" }]
  }))
  // The fake central server is plain http on loopback: marked as a trusted local network.
  const env = { EDGE_DIR: dir, EDGE_MACHINE_ID_FILE: machineIdFile, EDGE_ALLOW_HTTP_CENTRAL: "1" }
  if (options.pin !== undefined) {
    const set = await edge(["set-pin"], env, `${options.pin}\n`)
    expect(set.code, set.stderr).toBe(0)
  }
  const proc = launch("edge/src/main.ts", ["run"], env)
  const base = `http://127.0.0.1:${port}`
  await waitFor("the collector's page", async () => {
    if (proc.child.exitCode !== null) throw new Error(`collector exited:\n${proc.output.text}`)
    return (await fetch(`${base}/health`)).ok ? true : undefined
  })
  const call: Device["call"] = (from, method, path, o = {}) =>
    new Promise((resolve, reject) => {
      const body = o.json !== undefined ? JSON.stringify(o.json) : o.body
      const request = Http.request({
        host: "127.0.0.1",
        port,
        localAddress: from,
        method,
        path,
        headers: {
          ...(body === undefined ? {} : { "content-type": o.contentType ?? "application/json" }),
          ...(o.pin === undefined ? {} : { "x-pin": o.pin })
        }
      }, (response) => {
        let text = ""
        response.setEncoding("utf8").on("data", (chunk: string) => (text += chunk)).on("end", () => {
          let json: unknown
          try {
            json = JSON.parse(text)
          } catch {
            json = undefined
          }
          resolve({ status: response.statusCode!, headers: response.headers, text, json })
        })
      })
      request.on("error", reject)
      request.end(body)
    })
  return {
    dir,
    lan: `http://${LAN_NAME}:${port}`,
    env,
    base,
    proc,
    call,
    secrets: () => Effect.runPromise(makeSecretStore(dir, machineIdFile).read),
    status: async () => (await fetch(`${base}/status`)).json() as Promise<Record<string, any>>,
    layer: (name) => {
      const file = Path.join(dir, name)
      return Fs.existsSync(file) ? Yaml.parse(Fs.readFileSync(file, "utf8")) as unknown : undefined
    }
  }
}

/** Every YAML file of a collector's directory, as written. */
const yamlTexts = (dir: string) =>
  Fs.readdirSync(dir).filter((f) => f.endsWith(".yaml")).map((f) => Fs.readFileSync(Path.join(dir, f), "utf8")).join("\n")

/** Waits until the collector runs claimed: its status names the central server. */
const claimedStatus = (device: Device, central: FakeCentral) =>
  waitFor("the collector to run claimed", async () => {
    const status = await device.status()
    return status["central_url"] === central.url ? status : undefined
  })

let browser: Browser | undefined
const closers: Array<() => Promise<void>> = []

beforeAll(async () => {
  browser = await launchChromium()
})

afterAll(async () => {
  await killAll()
  await browser?.close()
  for (const close of closers) await close()
})

const fakeCentral = async () => {
  const central = await startFakeCentral(() => ({}), `alpr_${randomBytes(12).toString("hex")}`, CODE)
  closers.push(central.close)
  return central
}

const fakeHikvision = async () => {
  const camera = await startFakeHikvision("admin", HIK_PASSWORD)
  closers.push(camera.close)
  return camera
}

const fakeProtect = async () => {
  const console = await startFakeProtect({ username: "admin", password: PROTECT_PASSWORD })
  closers.push(console.close)
  return console
}

/** A port nothing listens on. */
const closedPort = async () => {
  const server = Http.createServer()
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as Net.AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

const openPage = async (url: string) => {
  const context = await browser!.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true })
  const page = await context.newPage()
  const errors: Array<string> = []
  page.on("pageerror", (error) => errors.push(String(error)))
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text())
  })
  await page.goto(url)
  return { page, errors, close: () => context.close() }
}

describe("claiming from the device page", () => {
  it("serves the setup page unclaimed, takes no claim without the PIN, then claims and runs claimed without a restart", async () => {
    const central = await fakeCentral()
    const device = await startUnclaimed()

    // Not claimed: the page is the setup page, and says that no PIN is set and how to set one.
    expect((await device.call("127.0.0.1", "GET", "/health")).json).toEqual({ status: "ok" })
    const home = await device.call("127.0.0.1", "GET", "/")
    expect(home.status).toBe(200)
    expect(home.text).toContain("<h1>Set up this collector</h1>")
    expect(home.text).toContain("No PIN is set on this collector")
    expect(home.text).toContain("<code>npm run edge -- set-pin</code>")
    expect(home.text).toMatch(/<input id="qr-file" type="file" accept="image\/\*" capture="environment">/)
    expect((await device.status())["claimed"]).toBe(false)

    // No PIN set: no claim, whatever is sent; the central server hears nothing.
    const noPin = await device.call("127.0.0.1", "POST", "/setup/claim", { pin: PIN, json: { central_url: central.url, code: CODE } })
    expect(noPin.status).toBe(403)
    expect(noPin.json.error).toMatch(/no PIN is set on this collector: .*npm run edge -- set-pin/)

    // The PIN set on the device while it runs.
    expect((await edge(["set-pin"], device.env, `${PIN}\n`)).code).toBe(0)
    const claimBody = { central_url: central.url, code: CODE }

    // A: no PIN, then wrong ones; four are free, the fifth earns a 30 s wait, in which even the right PIN waits.
    expect((await device.call("127.0.0.1", "POST", "/setup/claim", { json: claimBody })).status).toBe(401)
    for (const pin of ["north-gate-2469", "12345678", "north-gate", "NORTH-GATE-2468"]) {
      const wrong = await device.call("127.0.0.1", "POST", "/setup/claim", { pin, json: claimBody })
      expect(wrong.status).toBe(401)
      expect(wrong.json).toEqual({ error: "wrong PIN" })
    }
    const waiting = await device.call("127.0.0.1", "POST", "/setup/claim", { pin: PIN, json: claimBody })
    expect(waiting.status).toBe(429)
    expect(waiting.headers["retry-after"]).toBe("30")
    expect(central.claims).toEqual([])

    // B, with the PIN: what is wrong with a claim comes back as a 4xx with the reason.
    const refusals: Array<[unknown, number, RegExp]> = [
      [{ central_url: central.url, code: "AAAA-BBBB-CCCC" }, 400, /the central server does not know this claim code/],
      [{ central_url: "ftp://10.0.0.1", code: CODE }, 400, /central_url must be an https URL/],
      [{ central_url: "http://central.example", code: CODE }, 400, /not to the name central\.example/],
      [{ central_url: `http://127.0.0.1:${await closedPort()}`, code: CODE }, 400, /cannot reach the central server at http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/],
      [{ central_url: central.url }, 400, /the body must be JSON \{central_url, code\}/],
      [{ central_url: " ", code: CODE }, 400, /give the central server's URL and the claim code/]
    ]
    for (const [json, status, reason] of refusals) {
      const refused = await device.call("127.0.0.2", "POST", "/setup/claim", { pin: PIN, json })
      expect(refused.status, JSON.stringify(json)).toBe(status)
      expect(refused.json.error).toMatch(reason)
    }
    const form = await device.call("127.0.0.2", "POST", "/setup/claim", { pin: PIN, body: `code=${CODE}`, contentType: "application/x-www-form-urlencoded" })
    expect(form.status).toBe(415)
    expect(central.claims.map((c) => c["claim_code"])).toEqual(["AAAA-BBBB-CCCC"])
    expect((await device.secrets())["api_key"]).toBeUndefined()

    // The claim, as typed on a phone (lower case, spaces around).
    const claimed = await device.call("127.0.0.2", "POST", "/setup/claim", { pin: PIN, json: { central_url: central.url, code: ` ${CODE.toLowerCase()} ` } })
    expect(claimed.status, claimed.text).toBe(200)
    expect(claimed.json).toEqual({ status: "claimed", collector_id: "fake-collector", central_url: central.url })
    expect((await device.secrets())["api_key"]).toBe(central.apiKey)

    // The same process now runs as a claimed collector: heartbeats with the key, and uploads.
    await claimedStatus(device, central)
    await waitFor("a heartbeat", async () => central.heartbeats.length > 0 ? true : undefined)
    expect(central.heartbeats[0]).toMatchObject({ queue_depth: 0, config_version: "0" })
    const secret = await waitFor("the push camera's secret", async () => (await device.secrets())[pushSecretKey("gate")])
    const detection = {
      detection_id: `setup-${randomBytes(4).toString("hex")}`,
      timestamp: new Date().toISOString(),
      camera: { id: "gate" },
      plate: { text: "SET0001", confidence: 0.9 }
    }
    const pushed = await fetch(`${device.base}/push/${secret}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(detection) })
    expect(pushed.status).toBe(200)
    await waitFor("the read at the central server", async () => central.deliveries.get(detection.detection_id) === 1 ? true : undefined)
    expect(device.proc.child.exitCode).toBeNull()

    // Claimed: the page is the status page, and a second claim is refused.
    expect((await device.call("127.0.0.2", "GET", "/")).text).toContain("<h1>Collector status</h1>")
    const again = await device.call("127.0.0.2", "POST", "/setup/claim", { pin: PIN, json: claimBody })
    expect(again.status).toBe(409)
    expect(again.json.error).toMatch(/claimed already/)
    expect(central.claims).toHaveLength(2)

    // Neither the PIN nor the key is in the log.
    expect(device.proc.output.text).not.toContain(PIN)
    expect(device.proc.output.text).not.toContain(central.apiKey)
  }, 240_000)

  it("reads the admin panel's QR code from a photo in Chromium, fills both fields, and claims", async () => {
    const central = await fakeCentral()
    const device = await startUnclaimed({ pin: PIN })
    const { page, errors, close } = await openPage(`${device.lan}/`)
    await page.getByRole("heading", { name: "Set up this collector" }).waitFor()
    // As on a phone on the site network: no secure context, so no live camera API; the file input is the way.
    expect(await page.evaluate(() => (globalThis as unknown as { isSecureContext: boolean }).isSecureContext)).toBe(false)
    expect(await page.locator("#pin-missing").count()).toBe(0)
    const scan = page.getByLabel("Scan the QR code (opens the camera)")
    expect(await scan.getAttribute("capture")).toBe("environment")

    // A QR code that is not a claim code fills nothing.
    await scan.setInputFiles({ name: "photo.png", mimeType: "image/png", buffer: await QRCode.toBuffer("https://example.org/menu", { width: 600 }) })
    await page.locator("#qr-result").filter({ hasText: "This QR code is not a claim code from the admin panel." }).waitFor()
    expect(await page.getByLabel("Claim code").inputValue()).toBe("")

    // The admin panel's QR code (apps/web ClaimCode.tsx: <central>/claim#code=<code>), as large as a phone's photo.
    const photo = await QRCode.toBuffer(`${central.url}/claim#code=${CODE}`, { width: 2400, margin: 24, errorCorrectionLevel: "M" })
    await scan.setInputFiles({ name: "photo.png", mimeType: "image/png", buffer: photo })
    await page.locator("#qr-result").filter({ hasText: /^Read: / }).waitFor()
    expect(await page.getByLabel("Central server URL").inputValue()).toBe(central.url)
    expect(await page.getByLabel("Claim code").inputValue()).toBe(CODE)

    // A wrong PIN is told on the page; the right one claims.
    await page.getByLabel("PIN of this collector").fill("not-the-pin")
    await page.getByRole("button", { name: "Claim" }).click()
    await page.locator("#claim-result").filter({ hasText: "wrong PIN" }).waitFor()
    await page.getByLabel("PIN of this collector").fill(PIN)
    await page.getByRole("button", { name: "Claim" }).click()
    await page.locator("#claim-result").filter({ hasText: `Claimed: collector fake-collector of ${central.url}.` }).waitFor()
    expect(central.claims.map((c) => c["claim_code"])).toEqual([CODE])
    await claimedStatus(device, central)
    await waitFor("a heartbeat", async () => central.heartbeats.length > 0 ? true : undefined)
    expect(errors.filter((e) => !/status of 401/.test(e))).toEqual([])
    await close()
  }, 240_000)
})

describe("the camera wizard", () => {
  it("tests a camera's login, saves it to local.yaml and its password to the secrets, and the reloaded collector reads it", async () => {
    const central = await fakeCentral()
    const hikvision = await fakeHikvision()
    const protect = await fakeProtect()
    const device = await startUnclaimed({ pin: PIN })
    expect((await device.call("127.0.0.1", "POST", "/setup/claim", { pin: PIN, json: { central_url: central.url, code: CODE } })).status).toBe(200)
    await claimedStatus(device, central)

    // In Chromium: the form, Test connection (wrong password, then right), Save.
    const { page, errors, close } = await openPage(`${device.lan}/setup`)
    await page.getByLabel("PIN of this collector").fill(PIN)
    await page.getByLabel("Id", { exact: true }).fill("yard")
    await page.getByLabel("Name", { exact: true }).fill("Yard <ANPR>")
    await page.getByLabel("Vendor", { exact: true }).selectOption("hikvision")
    await page.getByLabel("Mode", { exact: true }).selectOption("pull")
    await page.getByLabel("URL", { exact: true }).fill(hikvision.url)
    await page.getByLabel("Username", { exact: true }).fill("admin")
    await page.getByLabel("Password", { exact: true }).fill("not-the-password")
    await page.getByRole("button", { name: "Test connection" }).click()
    await page.locator("#camera-result").filter({ hasText: /^Connection failed: wrong username or password: the camera refused user "admin"/ }).waitFor()
    await page.getByLabel("Password", { exact: true }).fill(HIK_PASSWORD)
    await page.getByRole("button", { name: "Test connection" }).click()
    await page.locator("#camera-result").filter({
      hasText: 'Connection OK: connected to Hikvision iDS-2CD7A46G0/P-IZHS, "Gate ANPR", firmware V5.5.800'
    }).waitFor()
    await page.getByRole("button", { name: "Save" }).click()
    await page.locator("#camera-result").filter({ hasText: "Saved: camera yard saved with its password; the collector restarts its cameras" }).waitFor()
    expect(errors).toEqual([])
    await close()

    // local.yaml holds the camera, never its password; the secrets hold the password.
    expect(device.layer("local.yaml")).toEqual({
      cameras: [{ id: "yard", name: "Yard <ANPR>", vendor: "hikvision", mode: "pull", url: hikvision.url, username: "admin" }]
    })
    expect(yamlTexts(device.dir)).not.toContain(HIK_PASSWORD)
    expect((await device.secrets())["camera_password:yard"]).toBe(HIK_PASSWORD)

    // The collector reloaded with both layers' cameras and reads the new one.
    const connected = await waitFor("the camera connected", async () => {
      const status = await device.status()
      return status["camera_connections"]?.["yard"]?.["state"] === "connected" ? status : undefined
    })
    expect(connected["cameras"].map((c: { id: string }) => c.id)).toEqual(["gate", "yard"])
    hikvision.send({ uuid: "setup-wizard-1", plate: "YRD001", dateTime: new Date().toISOString().slice(0, 19) + "+00:00" }, 3)
    await waitFor("the camera's read at the central server", async () => central.deliveries.get("hikvision:setup-wizard-1") === 1 ? true : undefined)

    // The page lists it, escaped, with its Edit button.
    const setup = await device.call("127.0.0.1", "GET", "/setup")
    expect(setup.text).toContain("Yard &lt;ANPR&gt;")
    expect(setup.text).not.toContain("Yard <ANPR>")
    expect(setup.text).toContain('aria-label="Edit camera yard"')

    // A test without a password uses the stored one only for the camera as stored.
    const stored = { id: "yard", vendor: "hikvision", mode: "pull", url: hikvision.url, username: "admin" }
    const again = await device.call("127.0.0.1", "POST", "/setup/cameras/test", { pin: PIN, json: { camera: stored } })
    expect(again.json).toMatchObject({ ok: true })
    // Another address (here a camera with the same password) never gets the stored password.
    const other = await fakeHikvision()
    const elsewhere = await device.call("127.0.0.1", "POST", "/setup/cameras/test", {
      pin: PIN,
      json: { camera: { ...stored, url: other.url } }
    })
    expect(elsewhere.json).toEqual({ ok: false, message: `the camera wants a password for user "admin", and none is given` })
    expect(other.refused()).toBe(1)

    // UniFi Protect: the console's login, right and wrong.
    const unifi = { id: "lot", vendor: "unifi", mode: "poll", url: protect.url, username: "admin" }
    const loggedIn = await device.call("127.0.0.1", "POST", "/setup/cameras/test", { pin: PIN, json: { camera: unifi, password: PROTECT_PASSWORD } })
    expect(loggedIn.json).toEqual({ ok: true, message: expect.stringMatching(/^logged in to UniFi Protect as "admin": 12 cameras/) })
    const refused = await device.call("127.0.0.1", "POST", "/setup/cameras/test", { pin: PIN, json: { camera: unifi, password: "wrong-one" } })
    expect(refused.json).toEqual({ ok: false, message: 'wrong username or password: the console refused user "admin" (HTTP 401)' })

    // Every change needs the PIN; bad input is a 4xx with the reason and changes nothing.
    expect((await device.call("127.0.0.2", "POST", "/setup/cameras", { json: { camera: unifi, password: "x" } })).status).toBe(401)
    expect((await device.call("127.0.0.2", "POST", "/setup/cameras/test", { pin: "wrong-pin-1", json: { camera: unifi } })).status).toBe(401)
    const badVendor = await device.call("127.0.0.1", "POST", "/setup/cameras", { pin: PIN, json: { camera: { id: "x", vendor: "acme" } } })
    expect(badVendor.status).toBe(400)
    expect(badVendor.json.error).toMatch(/^the camera is not valid: .*vendor/s)
    const noId = await device.call("127.0.0.1", "POST", "/setup/cameras", { pin: PIN, json: { camera: { vendor: "generic" } } })
    expect(noId.status).toBe(400)
    expect((await device.call("127.0.0.1", "POST", "/setup/cameras", { pin: PIN, body: "{not json" })).status).toBe(400)
    expect(device.layer("local.yaml")).toEqual({
      cameras: [{ id: "yard", name: "Yard <ANPR>", vendor: "hikvision", mode: "pull", url: hikvision.url, username: "admin" }]
    })

    // An edit without a password keeps the stored one.
    const renamed = await device.call("127.0.0.1", "POST", "/setup/cameras", { pin: PIN, json: { camera: { ...stored, name: "Yard" } } })
    expect(renamed.json).toEqual({ status: "saved", message: "camera yard saved; the collector restarts its cameras" })
    expect((await device.secrets())["camera_password:yard"]).toBe(HIK_PASSWORD)
    expect(device.proc.output.text).not.toContain(HIK_PASSWORD)
    expect(device.proc.output.text).not.toContain(PROTECT_PASSWORD)
  }, 240_000)
})

const camera = (fields: Record<string, unknown>) => Schema.decodeUnknownSync(CameraConfig)(fields)
const test = (fields: Record<string, unknown>, password?: string) => Effect.runPromise(testCameraConnection(camera(fields), password))

describe("the connection test", () => {
  let hikvision: FakeHikvision
  let protect: FakeProtect
  beforeAll(async () => {
    hikvision = await fakeHikvision()
    protect = await fakeProtect()
  })

  it("logs in to a Hikvision camera with Digest, and tells a wrong password, a wrong user and a camera that wants Basic", async () => {
    const hik = { id: "cam", vendor: "hikvision", mode: "pull", url: hikvision.url, username: "admin" }
    expect(await test(hik, HIK_PASSWORD)).toEqual({ ok: true, message: 'connected to Hikvision iDS-2CD7A46G0/P-IZHS, "Gate ANPR", firmware V5.5.800' })
    expect(await test({ ...hik, url: `${hikvision.url}/` }, HIK_PASSWORD)).toMatchObject({ ok: true })
    const wrong = await test(hik, "hik-secret-9")
    expect(wrong).toEqual({ ok: false, message: expect.stringMatching(/^wrong username or password: the camera refused user "admin"/) })
    expect(await test({ ...hik, username: "operator" }, HIK_PASSWORD)).toMatchObject({ ok: false, message: expect.stringMatching(/refused user "operator"/) })
    // Without a username the pull adapter logs in as admin; so does the test.
    expect(await test({ ...hik, username: undefined }, HIK_PASSWORD)).toMatchObject({ ok: true })

    const basicOnly = Http.createServer((_req, res) => res.writeHead(401, { "www-authenticate": 'Basic realm="camera"' }).end())
    await new Promise<void>((resolve) => basicOnly.listen(0, "127.0.0.1", resolve))
    closers.push(() => new Promise((resolve) => basicOnly.close(() => resolve())))
    const basic = await test({ ...hik, url: `http://127.0.0.1:${(basicOnly.address() as Net.AddressInfo).port}` }, HIK_PASSWORD)
    expect(basic).toEqual({
      ok: false,
      message: "the server offers no Digest authentication (schemes: basic): set the camera's web authentication to digest (or digest/basic)"
    })
  })

  it("logs in to a UniFi console, with an account or an API key, and finds the camera by its MAC", async () => {
    const unifi = { id: "lot", vendor: "unifi", mode: "poll", url: protect.url, username: "admin" }
    expect(await test(unifi, PROTECT_PASSWORD)).toEqual({
      ok: true,
      message: 'logged in to UniFi Protect as "admin": 12 cameras; with no MAC configured, every LPR camera of the console reads as this one'
    })
    expect(await test({ ...unifi, mac: "7c:d8:b3:28:64:1b" }, PROTECT_PASSWORD)).toEqual({
      ok: true,
      message: 'logged in to UniFi Protect as "admin": camera Tfzotee Autbv found'
    })
    expect(await test({ ...unifi, mac: "00:11:22:33:44:55" }, PROTECT_PASSWORD)).toEqual({
      ok: false,
      message: 'logged in to UniFi Protect as "admin", but none of its 12 cameras has the MAC 00:11:22:33:44:55'
    })
    expect(await test(unifi, "Protect-Secret-7")).toEqual({ ok: false, message: 'wrong username or password: the console refused user "admin" (HTTP 401)' })
    expect(await test(unifi, undefined)).toEqual({ ok: false, message: 'no password is given for user "admin"' })
    // No username: the secret is an API key.
    protect.setApiKey("protect-api-key")
    expect(await test({ ...unifi, username: undefined }, "protect-api-key")).toMatchObject({ ok: true, message: expect.stringMatching(/^logged in to UniFi Protect with the API key: 12 cameras/) })
    expect(await test({ ...unifi, username: undefined }, "another-key")).toMatchObject({ ok: false, message: expect.stringMatching(/^the console refused the API key \(HTTP 401\)/) })
  })

  it("tells unreachable, TLS, and a device that is not the vendor's", async () => {
    const port = await closedPort()
    const hik = { id: "cam", vendor: "hikvision", mode: "pull", username: "admin" }
    expect(await test({ ...hik, url: `http://127.0.0.1:${port}` }, HIK_PASSWORD)).toEqual({
      ok: false,
      message: `unreachable: nothing answers at 127.0.0.1:${port} (connection refused): check the address and port`
    })
    // https to a camera's plain-http port.
    expect(await test({ ...hik, url: hikvision.url.replace("http:", "https:") }, HIK_PASSWORD)).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^TLS failed with 127\.0\.0\.1:\d+ \(wrong version number\): is this port https\? Try the URL with http:\/\/$/)
    })
    // A web server that is no Hikvision camera (the UniFi console), and a camera that is no UniFi console.
    expect(await test({ ...hik, url: protect.url }, HIK_PASSWORD)).toEqual({
      ok: false,
      message: "not a Hikvision camera: /ISAPI/System/deviceInfo answered HTTP 401 without asking for a Digest login"
    })
    const central = await fakeCentral()
    expect(await test({ ...hik, url: central.url }, HIK_PASSWORD)).toEqual({
      ok: false,
      message: "not a Hikvision camera: /ISAPI/System/deviceInfo answered HTTP 404 (is ISAPI on, and the URL the camera's?)"
    })
    expect(await test({ id: "lot", vendor: "unifi", mode: "poll", url: hikvision.url, username: "admin" }, "x")).toEqual({
      ok: false,
      message: "not a UniFi OS console: /api/auth/login asks for HTTP authentication (a camera's own address?)"
    })
    expect(await test({ ...hik, url: "camera.local" }, "x")).toEqual({ ok: false, message: "the URL camera.local is not an http:// or https:// URL" })
    expect(await test({ ...hik, url: undefined }, "x")).toEqual({ ok: false, message: "the camera has no URL to test" })
  })

  it("gives up after 10 s on a camera that never answers", async () => {
    const silent = Http.createServer(() => {})
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve))
    closers.push(async () => {
      silent.closeAllConnections()
      await new Promise<void>((resolve) => silent.close(() => resolve()))
    })
    const url = `http://127.0.0.1:${(silent.address() as Net.AddressInfo).port}`
    const started = Date.now()
    expect(await test({ id: "cam", vendor: "hikvision", mode: "pull", url }, "x")).toEqual({
      ok: false,
      message: `unreachable: no answer from ${url} within 10 seconds`
    })
    expect(Date.now() - started).toBeGreaterThanOrEqual(9_500)
    expect(Date.now() - started).toBeLessThan(15_000)
  }, 30_000)

  it("answers ok with nothing to test for a push camera, and not ok for a mode the vendor does not have", async () => {
    expect(await test({ id: "gate", vendor: "generic" }, undefined)).toEqual({
      ok: true,
      message: "nothing to test: this camera pushes its reads to the collector (give it the URL `edge camera-push` shows); its first push shows on the status page"
    })
    expect(await test({ id: "gate", vendor: "axis", mode: "pull", url: "http://10.0.0.9" }, "x")).toEqual({
      ok: false,
      message: "mode pull is not supported for axis cameras (pull: hikvision; poll: unifi; mqtt: frigate)"
    })
  })
})
