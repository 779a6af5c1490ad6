import { createHash, randomBytes } from "node:crypto"
import * as Fs from "node:fs"
import * as Http from "node:http"
import type * as Net from "node:net"
import { fileURLToPath } from "node:url"
import { WebSocket, WebSocketServer } from "ws"
import { fixtureText as fixture } from "./cameras"

/**
 * Fake network cameras for the pull and poll adapters: real HTTP servers on 127.0.0.1 that speak
 * the vendors' protocols, as far as the collector uses them.
 *
 * - a Hikvision ANPR camera: Digest authentication (checked, not just required), its DeviceInfo, the
 *   `/ISAPI/Event/notification/alertStream` multipart stream, the plate list of any channel, and the
 *   pictures of listed plates;
 * - a UniFi Protect console: login or API key, bootstrap, the events list, events, thumbnails and
 *   the updates websocket's binary packets.
 */

const listen = async (server: Http.Server) => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return `http://127.0.0.1:${(server.address() as Net.AddressInfo).port}`
}

const close = (server: Http.Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })

const bodyOf = (req: Http.IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })

/**
 * Bytes that pass for a JPEG (its signature and end marker), the same for the same seed, with the
 * stream's delimiter half-written inside to tempt a careless parser.
 */
export const fakeJpeg = (seed: number, size = 600): Uint8Array => {
  const bytes = new Uint8Array(size)
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed * 17 + (i >> 3)) & 0xff
  bytes.set([0xff, 0xd8, 0xff, 0xe0], 0)
  bytes.set(Buffer.from("\r\n--bound"), 50)
  bytes.set([0xff, 0xd9], size - 2)
  return bytes
}

const md5 = (value: string) => createHash("md5").update(value).digest("hex")

// ---------------------------------------------------------------------------------------------
// Hikvision

export interface HikvisionEvent {
  readonly uuid: string
  readonly plate: string
  /** as the camera writes it, e.g. `2024-01-19T11:17:19+08:00` */
  readonly dateTime: string
}

export interface ListedPlate {
  readonly plate: string
  /** `20240119T111719+0800` */
  readonly captureTime: string
  readonly picName: string
}

/** The ANPR alert of the fixture with this event's UUID, plate and time. */
export const anprXml = (event: HikvisionEvent) =>
  fixture("hikvision/parkpow_hikvision_lpr_anpr.xml")
    .replace(/<UUID>[^<]*<\/UUID>/, `<UUID>${event.uuid}</UUID>`)
    .replace(/<licensePlate>[^<]*<\/licensePlate>/, `<licensePlate>${event.plate}</licensePlate>`)
    .replace(/<originalLicensePlate>[^<]*<\/originalLicensePlate>/, `<originalLicensePlate>${event.plate}</originalLicensePlate>`)
    .replace(/<dateTime>[^<]*<\/dateTime>/, `<dateTime>${event.dateTime}</dateTime>`)

const heartbeatXml = () =>
  `<?xml version="1.0" encoding="UTF-8"?>
<EventNotificationAlert version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">
<ipAddress>127.0.0.1</ipAddress>
<portNo>80</portNo>
<protocol>HTTP</protocol>
<macAddress>d4:e8:53:bc:4c:02</macAddress>
<channelID>1</channelID>
<dateTime>${new Date().toISOString().slice(0, 19)}+00:00</dateTime>
<activePostCount>0</activePostCount>
<eventType>videoloss</eventType>
<eventState>inactive</eventState>
<eventDescription>videoloss alarm</eventDescription>
</EventNotificationAlert>`

const BOUNDARY = "boundary"

const part = (headers: Record<string, string>, body: Uint8Array) =>
  Buffer.concat([
    Buffer.from(`--${BOUNDARY}\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("")}\r\n`),
    body,
    Buffer.from("\r\n")
  ])

const xmlPart = (xml: string) => {
  const body = Buffer.from(xml)
  return part({ "Content-Type": "application/xml; charset=\"UTF-8\"", "Content-Length": String(body.length) }, body)
}

const picturePart = (name: string, bytes: Uint8Array) =>
  part({
    "Content-Disposition": `form-data; name="${name}"; filename="${name}"`,
    "Content-Type": "image/jpeg",
    "Content-Length": String(bytes.length)
  }, bytes)

/** The picture the fake camera serves for a listed plate's `picName`, the same for the same name. */
export const listedPicture = (picName: string): Uint8Array =>
  fakeJpeg([...picName].reduce((n, c) => (n * 31 + c.charCodeAt(0)) % 100_003, 7), 700)

/** What the fake camera answers for a plate picture: the bytes, a 404, or nothing at all. */
export type PictureAnswer = Uint8Array | "missing" | "hang"

/** The pictures the fake camera sends with the event of `seed`. */
export const eventPictures = (seed: number) => ({ plate: fakeJpeg(seed, 400), scene: fakeJpeg(seed + 1, 1_500) })

/** The part set of one ANPR event in the alertStream: the alert, then its two pictures. */
export const eventParts = (event: HikvisionEvent, seed: number): ReadonlyArray<Buffer> => {
  const pictures = eventPictures(seed)
  return [
    xmlPart(anprXml(event)),
    picturePart("licensePlatePicture.jpg", pictures.plate),
    picturePart("detectionPicture.jpg", pictures.scene)
  ]
}

export interface FakeHikvision {
  readonly url: string
  /** requests refused with a 401 (the challenge, or a wrong answer to it) */
  readonly refused: () => number
  /** alertStream connections accepted */
  readonly streams: () => number
  /** bodies of the plate list requests accepted */
  readonly platesQueries: ReadonlyArray<string>
  /** the channel of the path and the `<AfterTime><picTime>` of each plate list request accepted */
  readonly platesRequests: ReadonlyArray<{ readonly channel: number; readonly afterTime: string }>
  /** what the plate list answers to a `picTime` */
  plates: (picTime: string) => ReadonlyArray<ListedPlate>
  /** the picNames of the plate picture requests accepted */
  readonly pictureRequests: ReadonlyArray<string>
  /** what a plate picture request answers (by default `listedPicture`) */
  picture: (picName: string) => PictureAnswer
  /** Writes an event's parts to the open stream; with `cutAt`, only that many bytes of them, then the connection is dropped. */
  readonly send: (event: HikvisionEvent, seed: number, cutAt?: number) => void
  readonly close: () => Promise<void>
}

/** The fake camera's `GET /ISAPI/System/deviceInfo`, in the shape of ISAPI's DeviceInfo. */
export const DEVICE_INFO = `<?xml version="1.0" encoding="UTF-8"?>
<DeviceInfo version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">
<deviceName>Gate ANPR</deviceName>
<deviceID>48443030-3637-3534-3835-d4e853bc4c02</deviceID>
<model>iDS-2CD7A46G0/P-IZHS</model>
<serialNumber>iDS-2CD7A46G0/P-IZHS20200101AAWRE12345678</serialNumber>
<macAddress>d4:e8:53:bc:4c:02</macAddress>
<firmwareVersion>V5.5.800</firmwareVersion>
<firmwareReleasedDate>build 210628</firmwareReleasedDate>
<deviceType>IPCamera</deviceType>
</DeviceInfo>`

/**
 * A Hikvision camera that wants Digest (MD5, qop=auth, a fresh nonce per challenge, the nonce count
 * rising) from user `username`.
 */
export const startFakeHikvision = async (username: string, password: string): Promise<FakeHikvision> => {
  const realm = "IP Camera(FAKE01)"
  const nonces = new Map<string, number>()
  let refused = 0
  let streams = 0
  const platesQueries: Array<string> = []
  const platesRequests: Array<{ channel: number; afterTime: string }> = []
  const pictureRequests: Array<string> = []
  let open: Http.ServerResponse | undefined

  const authorized = (req: Http.IncomingMessage) => {
    const header = req.headers.authorization
    if (header === undefined || !header.startsWith("Digest ")) return false
    const p: Record<string, string> = {}
    for (const m of header.slice(7).matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]*))/g)) p[m[1]!] = m[2] ?? m[3]!
    const lastNc = p["nonce"] === undefined ? undefined : nonces.get(p["nonce"])
    const nc = parseInt(p["nc"] ?? "", 16)
    if (p["username"] !== username || p["realm"] !== realm || lastNc === undefined || p["uri"] !== req.url) return false
    if (p["qop"] !== "auth" || !(nc > lastNc)) return false
    const ha1 = md5(`${username}:${realm}:${password}`)
    const ha2 = md5(`${req.method}:${p["uri"]}`)
    if (p["response"] !== md5(`${ha1}:${p["nonce"]}:${p["nc"]}:${p["cnonce"]}:auth:${ha2}`)) return false
    nonces.set(p["nonce"]!, nc)
    return true
  }

  const challenge = (res: Http.ServerResponse) => {
    refused++
    const nonce = randomBytes(16).toString("hex")
    nonces.set(nonce, 0)
    res.writeHead(401, {
      "WWW-Authenticate": `Digest qop="auth", realm="${realm}", nonce="${nonce}", stale="FALSE"`,
      "Content-Type": "text/html"
    })
    res.end("<html><body>401 Unauthorized</body></html>")
  }

  const fake: FakeHikvision = {
    url: "",
    refused: () => refused,
    streams: () => streams,
    platesQueries,
    platesRequests,
    plates: () => [],
    pictureRequests,
    picture: listedPicture,
    send: (event, seed, cutAt) => {
      if (open === undefined) throw new Error("no alertStream connection is open")
      const bytes = Buffer.concat(eventParts(event, seed))
      if (cutAt === undefined) {
        open.write(bytes)
        return
      }
      const response = open
      open = undefined
      response.write(bytes.subarray(0, cutAt), () => response.socket?.destroy())
    },
    close: () => close(server)
  }

  const server = Http.createServer(async (req, res) => {
    if (!authorized(req)) return challenge(res)
    if (req.method === "GET" && req.url === "/ISAPI/System/deviceInfo") {
      res.writeHead(200, { "Content-Type": "application/xml" })
      res.end(DEVICE_INFO)
      return
    }
    if (req.method === "GET" && req.url === "/ISAPI/Event/notification/alertStream") {
      streams++
      open = res
      res.writeHead(200, { "Content-Type": `multipart/mixed; boundary=${BOUNDARY}`, "Connection": "keep-alive" })
      res.write(xmlPart(heartbeatXml()))
      return
    }
    const platesPath = /^\/ISAPI\/Traffic\/channels\/(\d+)\/vehicleDetect\/plates$/.exec(req.url ?? "")
    if (req.method === "POST" && platesPath !== null) {
      const body = await bodyOf(req)
      platesQueries.push(body)
      const picTime = /<picTime>([^<]*)<\/picTime>/.exec(body)?.[1] ?? ""
      platesRequests.push({ channel: Number(platesPath[1]), afterTime: picTime })
      const plates = fake.plates(picTime).map((p) =>
        `<Plate><captureTime>${p.captureTime}</captureTime><plateNumber>${p.plate}</plateNumber><picName>${p.picName}</picName><country>NON</country><laneNo>1</laneNo><direction>forward</direction></Plate>`
      )
      res.writeHead(200, { "Content-Type": "application/xml" })
      res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Plates version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">${plates.join("")}</Plates>`)
      return
    }
    const picturePath = /^\/doc\/ui\/images\/plate\/([^/]+)\.jpg$/.exec(req.url ?? "")
    if (req.method === "GET" && picturePath !== null) {
      const picName = decodeURIComponent(picturePath[1]!)
      pictureRequests.push(picName)
      const answer = fake.picture(picName)
      if (answer === "hang") return
      if (answer === "missing") return res.writeHead(404, { "Content-Type": "text/html" }).end("<html><body>404 Not Found</body></html>")
      res.writeHead(200, { "Content-Type": "image/jpeg", "Content-Length": String(answer.byteLength) })
      res.end(answer)
      return
    }
    res.writeHead(404).end()
  })
  return Object.assign(fake, { url: await listen(server) })
}

// ---------------------------------------------------------------------------------------------
// UniFi Protect

/** uiprotect's sample data, copied beside the tests (test/fixtures/unifi-protect/SOURCES.md). */
export const protectSample = (name: string): unknown =>
  JSON.parse(Fs.readFileSync(fileURLToPath(new URL(`fixtures/unifi-protect/${name}`, import.meta.url)), "utf8"))

/** A Protect event as the console keeps it (uiprotect's raw event shape). */
export type ProtectEventJson = Record<string, unknown> & { readonly id: string; readonly start: number; readonly end?: number | null }

export interface FakeProtect {
  readonly url: string
  /** the console's events, as its events list and `events/<id>` give them */
  readonly events: Array<ProtectEventJson>
  /** `path?query` of every request that was let in */
  readonly requests: ReadonlyArray<string>
  /** the `x-api-key` of every request that carried one */
  readonly apiKeys: ReadonlyArray<string>
  /** logins accepted */
  readonly logins: () => number
  /** requests and handshakes refused (401) */
  readonly refused: () => number
  /** the `lastUpdateId` of every updates websocket opened */
  readonly updateIds: ReadonlyArray<string>
  /** how many updates websockets are open */
  readonly clients: () => number
  /** sends a packet to every open updates websocket */
  readonly send: (packet: Uint8Array) => void
  /** closes every updates websocket (a console restart, a network drop) */
  readonly drop: () => void
  /** forgets every login session, as when a TOKEN expires */
  readonly expireSessions: () => void
  /** the API key accepted from now on */
  setApiKey: (key: string) => void
  readonly thumbnailOf: (id: string) => Uint8Array
  /** the thumbnail an event's requests get from now on (sent in pieces, with no declared length) */
  readonly setThumbnail: (id: string, bytes: Uint8Array) => void
  readonly close: () => Promise<void>
}

/**
 * A Protect console (UniFi OS) speaking what uiprotect speaks to one: `POST /api/auth/login` (a
 * `TOKEN` cookie and an `x-csrf-token`), or `X-API-KEY`; under `/proxy/protect/api`, `bootstrap`
 * (uiprotect's sample cameras and lastUpdateId), `events` (filtered by start, end, types and
 * smartDetectTypes as asked), `events/<id>` and `events/<id>/thumbnail`; and the updates websocket
 * `/proxy/protect/ws/updates`, to which a test sends packets.
 */
export const startFakeProtect = async (account: {
  readonly username: string
  readonly password: string
  readonly apiKey?: string
}): Promise<FakeProtect> => {
  const bootstrap = protectSample("uiprotect_sample_bootstrap_cameras.json")
  const events: Array<ProtectEventJson> = []
  const requests: Array<string> = []
  const apiKeys: Array<string> = []
  const updateIds: Array<string> = []
  const sessions = new Set<string>()
  const thumbnails = new Map<string, Uint8Array>()
  let apiKey = account.apiKey
  let logins = 0
  let refused = 0
  const thumbnailOf = (id: string) => {
    if (!thumbnails.has(id)) thumbnails.set(id, fakeJpeg(thumbnails.size + 100, 900))
    return thumbnails.get(id)!
  }
  const json = (res: Http.ServerResponse, value: unknown, status = 200) => {
    res.writeHead(status, { "Content-Type": "application/json" })
    res.end(JSON.stringify(value))
  }
  const allowed = (req: Http.IncomingMessage) => {
    const key = req.headers["x-api-key"]
    if (typeof key === "string") apiKeys.push(key)
    if (key !== undefined) return apiKey !== undefined && key === apiKey
    const token = /(?:^|;\s*)TOKEN=([^;]+)/.exec(req.headers.cookie ?? "")?.[1]
    return token !== undefined && sessions.has(token)
  }
  const server = Http.createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://console")
    if (req.method === "POST" && url.pathname === "/api/auth/login") {
      const body = JSON.parse(await bodyOf(req)) as { username?: string; password?: string }
      if (body.username !== account.username || body.password !== account.password) {
        refused++
        return json(res, { code: "AUTHENTICATION_FAILED_INVALID_CREDENTIALS", message: "Invalid username or password" }, 401)
      }
      logins++
      const token = randomBytes(24).toString("base64url")
      sessions.add(token)
      res.writeHead(200, {
        "Content-Type": "application/json",
        "Set-Cookie": `TOKEN=${token}; path=/; samesite=none; secure; httponly`,
        "X-CSRF-Token": randomBytes(16).toString("hex")
      })
      return res.end(JSON.stringify({ username: account.username }))
    }
    if (!allowed(req)) {
      refused++
      return json(res, { error: "Unauthorized" }, 401)
    }
    requests.push(`${url.pathname}${url.search}`)
    const api = "/proxy/protect/api/"
    if (req.method !== "GET" || !url.pathname.startsWith(api)) return res.writeHead(404).end()
    const path = url.pathname.slice(api.length)
    if (path === "bootstrap") return json(res, bootstrap)
    if (path === "events") {
      const start = Number(url.searchParams.get("start"))
      const end = Number(url.searchParams.get("end"))
      const types = url.searchParams.getAll("types")
      const smart = url.searchParams.getAll("smartDetectTypes")
      return json(res, events.filter((e) =>
        e.start <= end && (e.end ?? Infinity) >= start &&
        (types.length === 0 || types.includes(String(e["type"]))) &&
        (smart.length === 0 || smart.some((t) => (e["smartDetectTypes"] as Array<string>).includes(t)))
      ))
    }
    const m = /^events\/([^/]+)(\/thumbnail)?$/.exec(path)
    const event = events.find((e) => e.id === m?.[1])
    if (m === null || event === undefined) return json(res, { error: "Not found" }, 404)
    if (m[2] === undefined) return json(res, event)
    // In pieces with no Content-Length (chunked), as a console streaming a large image does.
    res.writeHead(200, { "Content-Type": "image/jpeg" })
    const bytes = thumbnailOf(event.id)
    for (let at = 0; at < bytes.length; at += 256 * 1024) res.write(bytes.subarray(at, at + 256 * 1024))
    res.end()
  })
  const wss = new WebSocketServer({ noServer: true })
  server.on("upgrade", (req, socket, head) => {
    const url = new URL(req.url ?? "/", "http://console")
    if (url.pathname !== "/proxy/protect/ws/updates" || !allowed(req)) {
      refused++
      socket.end("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
      return
    }
    updateIds.push(url.searchParams.get("lastUpdateId") ?? "")
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req))
  })
  const open = () => [...wss.clients].filter((c) => c.readyState === WebSocket.OPEN)
  return {
    url: await listen(server),
    events,
    requests,
    apiKeys,
    updateIds,
    logins: () => logins,
    refused: () => refused,
    clients: () => open().length,
    send: (packet) => {
      for (const client of open()) client.send(packet)
    },
    drop: () => {
      for (const client of wss.clients) client.terminate()
    },
    expireSessions: () => sessions.clear(),
    setApiKey: (key) => {
      apiKey = key
    },
    thumbnailOf,
    setThumbnail: (id, bytes) => void thumbnails.set(id, bytes),
    close: async () => {
      for (const client of wss.clients) client.terminate()
      wss.close()
      await close(server)
    }
  }
}
