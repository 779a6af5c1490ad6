import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { spawn } from "node:child_process"

/**
 * Footage through ffmpeg (Debian's `ffmpeg` package: `ffmpeg` and `ffprobe` on the PATH, or FFMPEG_PATH
 * and FFPROBE_PATH): what a file is (ffprobe), and its frames sampled at a rate, as JPEG, each with its
 * offset from the start (ffmpeg's showinfo filter tells each frame's presentation time).
 */

export class FootageError extends Data.TaggedError("FootageError")<{ readonly message: string }> {}

const FFMPEG = process.env.FFMPEG_PATH ?? "ffmpeg"
const FFPROBE = process.env.FFPROBE_PATH ?? "ffprobe"

export interface Probe {
  /** image2 / png_pipe / ...: a still image; anything else with a video stream: video */
  readonly media: "photo" | "video"
  readonly format: string
  readonly durationS: number | null
  /** the presentation time of the footage's start (frames' times count from it) */
  readonly startS: number
  readonly width: number
  readonly height: number
  /** the container's creation time (ISO 8601, UTC), when it records one */
  readonly createdAt: string | null
}

const STILL_FORMATS = new Set(["image2", "png_pipe", "jpeg_pipe", "webp_pipe", "bmp_pipe", "tiff_pipe", "heif"])
const STILL_CODECS = new Set(["mjpeg", "png", "webp", "bmp", "tiff", "hevc_image"])

/** Runs a program to its end; its stdout, or why it failed (the last lines of its stderr). */
const run = (program: string, args: ReadonlyArray<string>) =>
  Effect.async<string, FootageError>((resume, signal) => {
    const child = spawn(program, args, { stdio: ["ignore", "pipe", "pipe"], signal })
    let out = ""
    let err = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err = (err + chunk).slice(-4000)))
    child.once("error", (e) =>
      resume(Effect.fail(new FootageError({
        message: (e as NodeJS.ErrnoException).code === "ENOENT"
          ? `${program} is not installed (Debian: apt-get install ffmpeg)`
          : `${program} failed: ${e.message}`
      }))))
    child.once("close", (code) =>
      resume(code === 0 ? Effect.succeed(out) : Effect.fail(new FootageError({ message: lastLines(err) || `${program} exited with ${code}` }))))
  })

const lastLines = (text: string) => text.trim().split("\n").slice(-2).join(" ").slice(0, 500)

/** What the file is; a file ffprobe cannot read, or with no picture in it, is refused with its reason. */
export const probe = (path: string) =>
  Effect.gen(function*() {
    const out = yield* run(FFPROBE, ["-v", "error", "-print_format", "json", "-show_format", "-show_streams", path]).pipe(
      Effect.mapError((e) => new FootageError({ message: `not a photo or video that can be read: ${e.message}` }))
    )
    const json = JSON.parse(out) as {
      format?: { format_name?: string; duration?: string; start_time?: string; tags?: Record<string, string> }
      streams?: Array<{ codec_type?: string; codec_name?: string; width?: number; height?: number; tags?: Record<string, string> }>
    }
    const picture = json.streams?.find((s) => s.codec_type === "video" && (s.width ?? 0) > 0)
    if (picture === undefined) return yield* new FootageError({ message: "the file has no picture in it" })
    const format = json.format?.format_name ?? ""
    const duration = Number(json.format?.duration)
    const still = STILL_FORMATS.has(format) || (STILL_CODECS.has(picture.codec_name ?? "") && !(duration > 0.5))
    const created = json.format?.tags?.creation_time ?? picture.tags?.creation_time
    const createdAt = created !== undefined && !Number.isNaN(Date.parse(created)) && Date.parse(created) > Date.UTC(2000, 0, 1)
      ? new Date(created).toISOString()
      : null
    return {
      media: still ? "photo" : "video",
      format,
      durationS: Number.isFinite(duration) && !still ? duration : null,
      startS: Number.isFinite(Number(json.format?.start_time)) ? Number(json.format?.start_time) : 0,
      width: picture.width ?? 0,
      height: picture.height ?? 0,
      createdAt
    } satisfies Probe
  })

export interface Frame {
  /** 0, 1, 2, ... in the order sampled */
  readonly index: number
  /** seconds from the start of the footage */
  readonly offsetS: number
  readonly jpeg: Uint8Array
}

/** Splits ffmpeg's MJPEG stream into pictures: each starts FF D8 and ends FF D9 (a marker its data never holds). */
const jpegSplitter = () => {
  let pending: Buffer<ArrayBufferLike> = Buffer.alloc(0)
  return (chunk: Buffer): Array<Buffer> => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
    const out: Array<Buffer> = []
    let start = 0
    while (true) {
      const end = pending.indexOf(Buffer.from([0xff, 0xd9]), start + 2)
      if (end < 0) break
      out.push(Buffer.from(pending.subarray(start, end + 2)))
      start = end + 2
    }
    pending = pending.subarray(start)
    return out
  }
}

/**
 * The frames of the file at `fps` a second (a photo: its one picture at offset 0), at most
 * `maxWidth` wide, read as they come: ffmpeg waits while the consumer works (the pipe's backpressure).
 */
export const sampleFrames = (path: string, options: { readonly fps: number; readonly photo: boolean; readonly startS?: number; readonly maxWidth?: number }) =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const scale = `scale='min(${options.maxWidth ?? 1920},iw)':-2`
    const filters = options.photo ? `${scale},showinfo` : `fps=${options.fps},${scale},showinfo`
    const args = ["-hide_banner", "-nostdin", "-loglevel", "info", "-i", path, "-an", "-sn", "-vf", filters,
      ...(options.photo ? ["-frames:v", "1"] : []), "-f", "image2pipe", "-c:v", "mjpeg", "-q:v", "3", "pipe:1"]
    const child = yield* Effect.acquireRelease(
      Effect.sync(() => spawn(FFMPEG, args, { stdio: ["ignore", "pipe", "pipe"] })),
      (child) => Effect.sync(() => child.exitCode === null && child.kill("SIGKILL"))
    )
    // showinfo writes one line per frame with its presentation time: "... n: 3 pts: ... pts_time:1.5 ..."
    const times: Array<number> = []
    let errors = ""
    let partial = ""
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      const lines = (partial + chunk).split("\n")
      partial = lines.pop() ?? ""
      for (const line of lines) {
        const time = /Parsed_showinfo.*\bpts_time:\s*(-?[\d.]+)/.exec(line)
        if (time !== null) times.push(Number(time[1]))
        else errors = (errors + line + "\n").slice(-4000)
      }
    })
    const exited = new Promise<{ code: number | null; spawnError?: NodeJS.ErrnoException }>((resolve) => {
      child.once("error", (e) => resolve({ code: null, spawnError: e as NodeJS.ErrnoException }))
      child.once("close", (code) => resolve({ code }))
    })
    const split = jpegSplitter()
    let index = 0
    const frames = Stream.fromAsyncIterable(child.stdout as AsyncIterable<Buffer>, (e) => new FootageError({ message: `ffmpeg's output: ${String(e)}` })).pipe(
      Stream.mapConcat((chunk) => split(chunk)),
      Stream.map((jpeg): Frame => {
        const i = index++
        // showinfo's line for a frame comes before the frame leaves the encoder; the rate's spacing if not
        const time = times[i]
        const offsetS = options.photo ? 0 : time === undefined ? i / options.fps : time - (options.startS ?? 0)
        return { index: i, offsetS: Math.max(0, Math.round(offsetS * 1000) / 1000), jpeg }
      })
    )
    const end = Stream.fromEffect(Effect.gen(function*() {
      const result = yield* Effect.promise(() => exited)
      if (result.spawnError !== undefined) {
        return yield* new FootageError({
          message: result.spawnError.code === "ENOENT" ? "ffmpeg is not installed (Debian: apt-get install ffmpeg)" : result.spawnError.message
        })
      }
      if (result.code !== 0) return yield* new FootageError({ message: `ffmpeg could not read the footage: ${lastLines(errors)}` })
    })).pipe(Stream.drain)
    return Stream.concat(frames, end)
  }))
