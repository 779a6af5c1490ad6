import * as Http from "node:http"
import type * as Net from "node:net"
import sharp from "sharp"

/**
 * Local servers speaking the HTTP recognisers' protocols (issue 20), since neither CodeProject.AI nor
 * Plate Recognizer can run here: CodeProject.AI's ALPR module (`POST /v1/vision/alpr`, the image in
 * the form field `upload`) and Plate Recognizer's Snapshot API (`POST /v1/plate-reader/` with
 * `Authorization: Token ...`, `upload` and `regions`). What they "see" is the colour of the picture:
 * tests make footage of coloured scenes, and each colour stands for a vehicle.
 */

export interface SceneAnswer {
  readonly plate: string
  readonly confidence: number
  /** x, y, width, height in pixels */
  readonly box: readonly [number, number, number, number]
  readonly candidates?: ReadonlyArray<{ readonly plate: string; readonly confidence: number }>
}

/** What a picture of each colour holds (black and anything else: no plate). */
export type Scenes = Partial<Record<"red" | "green" | "blue" | "white", SceneAnswer>>

export interface FakeRecogniser {
  readonly url: string
  /** every request, in order: the path, the form's fields other than the image, the image's type and size */
  readonly requests: Array<{ readonly path: string; readonly fields: Record<string, Array<string>>; readonly imageType: string; readonly imageBytes: number; readonly authorization: string | undefined }>
  /** answer the next `count` requests with this status and body instead */
  readonly failNext: (count: number, status: number, body: string) => void
  readonly close: () => Promise<void>
}

/** The picture's colour, by the mean of its channels. */
export const colourOf = async (bytes: Uint8Array): Promise<string> => {
  const { channels } = await sharp(bytes).stats()
  const [r, g, b] = channels.map((c) => c.mean) as [number, number, number]
  if (r > 180 && g > 180 && b > 180) return "white"
  if (r < 60 && g < 60 && b < 60) return "black"
  if (r > g + 60 && r > b + 60) return "red"
  if (g > r + 60 && g > b + 60) return "green"
  if (b > r + 60 && b > g + 60) return "blue"
  return "other"
}

const start = (
  route: string,
  answer: (scene: SceneAnswer | undefined, fields: Record<string, Array<string>>, authorization: string | undefined) => { status: number; body: unknown },
  scenes: Scenes,
  options: { readonly delayMs?: number } = {}
): Promise<FakeRecogniser> =>
  new Promise((resolve) => {
    const requests: FakeRecogniser["requests"] = []
    let failures: { count: number; status: number; body: string } = { count: 0, status: 500, body: "" }
    const server = Http.createServer(async (req, res) => {
      const chunks: Array<Buffer> = []
      for await (const chunk of req) chunks.push(chunk as Buffer)
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": typeof body === "string" ? "text/plain" : "application/json" })
        res.end(typeof body === "string" ? body : JSON.stringify(body))
      }
      if (req.method !== "POST" || req.url !== route) return reply(404, { detail: "Not found." })
      let form: FormData
      try {
        form = await new Request("http://fake" + req.url, {
          method: "POST",
          headers: { "content-type": req.headers["content-type"] ?? "" },
          body: Buffer.concat(chunks)
        }).formData()
      } catch {
        return reply(400, { error: "expected multipart/form-data" })
      }
      const upload = form.get("upload")
      const fields: Record<string, Array<string>> = {}
      for (const [name, value] of form.entries()) {
        if (typeof value === "string") fields[name] = [...(fields[name] ?? []), value]
      }
      const authorization = req.headers.authorization
      if (!(upload instanceof Blob)) return reply(400, { error: "no image in the form field upload" })
      const bytes = new Uint8Array(await upload.arrayBuffer())
      requests.push({ path: req.url, fields, imageType: upload.type, imageBytes: bytes.length, authorization })
      if (options.delayMs !== undefined) await new Promise((r) => setTimeout(r, options.delayMs))
      if (failures.count > 0) {
        failures.count--
        return reply(failures.status, failures.body)
      }
      const colour = await colourOf(bytes).catch(() => "unreadable")
      if (colour === "unreadable") return reply(400, { error: "the image could not be decoded" })
      const { status, body } = answer(scenes[colour as keyof Scenes], fields, authorization)
      reply(status, body)
    })
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as Net.AddressInfo).port
      resolve({
        url: `http://127.0.0.1:${port}`,
        requests,
        failNext: (count, status, body) => (failures = { count, status, body }),
        close: () =>
          new Promise((done) => {
            server.closeAllConnections()
            server.close(() => done())
          })
      })
    })
  })

/** CodeProject.AI Server with its ALPR module. */
export const startFakeCodeProject = (scenes: Scenes, options: { readonly delayMs?: number } = {}) =>
  start("/v1/vision/alpr", (scene) => ({
    status: 200,
    body: scene === undefined
      ? { success: false, error: "No predictions returned", predictions: [], processMs: 12, inferenceMs: 9, moduleId: "ALPR" }
      : {
        success: true,
        message: `Found Plate: ${scene.plate}`,
        predictions: [{
          confidence: scene.confidence,
          label: `Plate: ${scene.plate}`,
          plate: scene.plate,
          x_min: scene.box[0],
          y_min: scene.box[1],
          x_max: scene.box[0] + scene.box[2],
          y_max: scene.box[1] + scene.box[3]
        }],
        count: 1,
        processMs: 41,
        inferenceMs: 35,
        moduleId: "ALPR"
      }
  }), scenes, options)

/** Plate Recognizer's Snapshot API (or its SDK), with one valid token. */
export const startFakePlateRecognizer = (scenes: Scenes, token: string) =>
  start("/v1/plate-reader/", (scene, fields, authorization) => {
    if (authorization !== `Token ${token}`) return { status: 403, body: { detail: "Invalid token." } }
    return {
      status: 201,
      body: {
        processing_time: 88.2,
        timestamp: new Date().toISOString(),
        filename: "frame.jpg",
        version: 1,
        camera_id: null,
        results: scene === undefined ? [] : [{
          box: { xmin: scene.box[0], ymin: scene.box[1], xmax: scene.box[0] + scene.box[2], ymax: scene.box[1] + scene.box[3] },
          plate: scene.plate.toLowerCase(),
          region: { code: fields.regions?.[0] ?? "us-ny", score: 0.8 },
          score: scene.confidence,
          candidates: [
            { score: scene.confidence, plate: scene.plate.toLowerCase() },
            ...(scene.candidates ?? []).map((c) => ({ score: c.confidence, plate: c.plate.toLowerCase() }))
          ],
          dscore: 0.97,
          vehicle: { score: 0.9, type: "Sedan", box: { xmin: 0, ymin: 0, xmax: 100, ymax: 100 } }
        }]
      }
    }
  }, scenes)
