import { createHash, randomBytes } from "node:crypto"
import * as Http from "node:http"
import type * as Net from "node:net"
import { fixtureText as fixture } from "./cameras"

/**
 * Fake network cameras for the pull and poll adapters: real HTTP servers on 127.0.0.1 that speak
 * the vendors' protocols, as far as the collector uses them.
 *
 * - a Hikvision ANPR camera: Digest authentication (checked, not just required), the
 *   `/ISAPI/Event/notification/alertStream` multipart stream, the plate list of any channel, and the
 *   pictures of listed plates;
 * - a UniFi Protect console: the API key, the camera list, events, smartDetectTracks, thumbnails.
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

export interface ProtectEvent {
  readonly id: string
  readonly device: string
  readonly start: number
  readonly end: number | null
  readonly smartDetectTypes: ReadonlyArray<string>
  /** the plate in its smartDetectTrack */
  readonly plate: string
}

export interface FakeProtect {
  readonly url: string
  readonly events: Array<ProtectEvent>
  /** `path?query` of every request with the right key */
  readonly requests: ReadonlyArray<string>
  /** requests refused for their key */
  readonly refused: () => number
  readonly thumbnailOf: (id: string) => Uint8Array
  readonly close: () => Promise<void>
}

/** The smartDetectTrack fixture, as the track of `event`. */
const track = (event: ProtectEvent) => {
  const json = JSON.parse(fixture("unifi/uiprotect_sample_event_smart_track_licensePlate.json")) as {
    payload: Array<Record<string, unknown>>
  }
  return {
    ...json,
    event: event.id,
    camera: event.device,
    payload: json.payload.map((frame, i) => ({ ...frame, licensePlate: event.plate, timestamp: event.start + i * 100 }))
  }
}

/** A Protect console with the Integration API's paths, answering only `X-API-KEY: apiKey`. */
export const startFakeProtect = async (
  apiKey: string,
  cameras: ReadonlyArray<{ readonly id: string; readonly mac: string }>
): Promise<FakeProtect> => {
  const base = "/proxy/protect/integration/v1/"
  const events: Array<ProtectEvent> = []
  const requests: Array<string> = []
  const thumbnails = new Map<string, Uint8Array>()
  let refused = 0
  const thumbnailOf = (id: string) => {
    if (!thumbnails.has(id)) thumbnails.set(id, fakeJpeg(thumbnails.size, 900))
    return thumbnails.get(id)!
  }
  const json = (res: Http.ServerResponse, value: unknown) => {
    res.writeHead(200, { "Content-Type": "application/json" })
    res.end(JSON.stringify(value))
  }
  const server = Http.createServer((req, res) => {
    if (req.headers["x-api-key"] !== apiKey) {
      refused++
      res.writeHead(401, { "Content-Type": "application/json" })
      return res.end(JSON.stringify({ error: "Unauthorized", name: "UNAUTHORIZED" }))
    }
    const url = new URL(req.url ?? "/", "http://console")
    requests.push(`${url.pathname}${url.search}`)
    if (req.method !== "GET" || !url.pathname.startsWith(base)) return res.writeHead(404).end()
    const path = url.pathname.slice(base.length)
    if (path === "cameras") return json(res, cameras.map((c) => ({ ...c, modelKey: "camera", name: c.id, state: "CONNECTED" })))
    if (path === "events") {
      const start = Number(url.searchParams.get("start"))
      const end = Number(url.searchParams.get("end"))
      return json(res, events.filter((e) => e.start <= end && (e.end ?? Infinity) >= start).map(({ plate: _, ...e }) => ({ ...e, modelKey: "event", type: "smartDetectZone" })))
    }
    const m = /^events\/([^/]+)\/(smartDetectTrack|thumbnail)$/.exec(path)
    const event = events.find((e) => e.id === m?.[1])
    if (m === null || event === undefined) return res.writeHead(404).end()
    if (m[2] === "smartDetectTrack") return json(res, track(event))
    res.writeHead(200, { "Content-Type": "image/jpeg" })
    res.end(thumbnailOf(event.id))
  })
  return { url: await listen(server), events, requests, refused: () => refused, thumbnailOf, close: () => close(server) }
}
