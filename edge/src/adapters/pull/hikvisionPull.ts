import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { normalizePlate } from "@chaverim/domain/Plate"
import * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { CameraContext, CameraRead, Parsed } from "../CameraRead"
import type { FormPart } from "../decode"
import { type ListedRead, parseAlertParts, parsePlates, platePicture, platePicturePath, platesPath, platesQuery } from "../hikvision"
import type { SourceHooks } from "../Sources"
import { DigestSession } from "./digest"
import { asFormPart, boundaryOf, splitMultipart } from "./multipartStream"

/**
 * Reads a Hikvision ANPR camera by pulling: the collector holds `GET
 * /ISAPI/Event/notification/alertStream` open (Digest authentication), and the camera writes each
 * event into it as a part set: the EventNotificationAlert XML, then the pictures of the same event
 * (`licensePlatePicture.jpg`, `detectionPicture.jpg`). Heartbeats (`videoloss`, `eventState
 * inactive`) come the same way and hold no reads.
 *
 * Whenever a session starts (at start-up and after every reconnect) the reads missed meanwhile are
 * fetched from the camera's own plate list (`POST /ISAPI/Traffic/channels/<channel>/vehicleDetect/plates`
 * with `<AfterTime><picTime>`), from the time of the newest read taken from the camera: at start-up
 * the newest the buffer holds (a collector that was off for an hour recovers the hour), else
 * `startWindowMs` (10 minutes) back, and never more than `maxLookbackMs` (24 hours) back. The list
 * carries no pictures: each listed read's plate picture is fetched by its `picName` (`GET
 * /doc/ui/images/plate/<picName>.jpg`); a picture that cannot be had costs the picture, not the read.
 *
 * Identity of backfilled reads: the plate list carries no event UUID, so its reads get fingerprint
 * ids (camera, capture time, plate), while the stream's get `hikvision:<UUID>`. The two cannot be
 * made equal honestly (nothing relates a UUID to a picName, and the alert's `dateTime` need not be the
 * list's `captureTime` to the second), so the buffer's detection_id dedupe does not catch the same
 * capture seen both ways. Instead a listed plate that matches a read already taken from the camera
 * (same normalised plate, within `matchToleranceMs`) is skipped: the reads of this process, and at
 * start-up the buffered reads around the newest one, which are the ones a list asked from that time
 * returns again. What is not covered: an event in the instant of a reconnect that the list returns
 * and the stream gives only after the backfill has passed it; and a backfill cut short (the camera
 * dropped, the collector stopped, `maxBackfillPages` reached) is not resumed where it stopped: the
 * next one starts from the newest read, which the stream may already have carried past the gap.
 */

export class HikvisionPullError extends Schema.TaggedError<HikvisionPullError>()("HikvisionPullError", {
  reason: Schema.Literal("config", "unreachable", "unauthorized", "protocol", "closed"),
  message: Schema.String
}) {}

export interface HikvisionPullOptions {
  /** a connection silent this long is taken as dead (the camera sends heartbeats well within it) */
  readonly idleTimeoutMs?: number
  /** how long an event's part set stays open for pictures the XML announced but that have not come */
  readonly pictureWaitMs?: number
  /** how far back the first backfill after start-up looks when the buffer holds no read of the camera */
  readonly startWindowMs?: number
  /** how far back a backfill looks at most, however old the newest read taken from the camera */
  readonly maxLookbackMs?: number
  /** how long to wait for the camera to answer a request */
  readonly requestTimeoutMs?: number
  /** largest part of the event stream accepted */
  readonly maxPartBytes?: number
  /** plates listed within this of a read already taken from the stream are that read */
  readonly matchToleranceMs?: number
  /** the video channel whose plate list is read */
  readonly channel?: number
  /** a backfill reads at most this many pages of the plate list */
  readonly maxBackfillPages?: number
}

export interface Credentials {
  readonly username: string
  readonly password: string
}

const ALERT_STREAM = "/ISAPI/Event/notification/alertStream"

const DEFAULTS = {
  idleTimeoutMs: 180_000,
  pictureWaitMs: 2_000,
  startWindowMs: 10 * 60_000,
  maxLookbackMs: 24 * 3_600_000,
  requestTimeoutMs: 15_000,
  maxPartBytes: 16 * 1024 * 1024,
  matchToleranceMs: 5_000,
  channel: 1,
  maxBackfillPages: 20
} satisfies Required<HikvisionPullOptions>

// ---------------------------------------------------------------------------------------------
// HTTP with Digest authentication

const reasonOf = (cause: unknown) => cause instanceof Error ? cause.message : String(cause)

const fromHttpError = (error: HttpClientError.HttpClientError, what: string): HikvisionPullError => {
  if (error._tag === "RequestError") {
    return error.reason === "InvalidUrl"
      ? new HikvisionPullError({ reason: "config", message: `the camera URL is not valid (${error.request.url})` })
      : new HikvisionPullError({ reason: "unreachable", message: `cannot reach the camera for ${what}: ${reasonOf(error.cause)}` })
  }
  return new HikvisionPullError({ reason: "closed", message: `the connection broke during ${what}: ${reasonOf(error.cause ?? error.message)}` })
}

const requestTarget = (url: string) => {
  const parsed = new URL(url)
  return `${parsed.pathname}${parsed.search}`
}

/** Reads and drops a small answer (a 401's), so that its connection can be reused. */
const discard = (response: HttpClientResponse.HttpClientResponse) =>
  response.text.pipe(Effect.timeout("2 seconds"), Effect.ignore)

/**
 * Sends a request with Digest authentication: answering the last challenge up front, and on a 401
 * taking the new challenge and trying once more. A second 401 means the credentials are wrong.
 */
const digestSender = (client: HttpClient.HttpClient, digest: DigestSession, timeoutMs: number) =>
(request: HttpClientRequest.HttpClientRequest, what: string) => {
  const attempt = Effect.suspend(() => {
    const authorization = digest.authorization(request.method, requestTarget(request.url))
    return client.execute(
      authorization === undefined ? request : HttpClientRequest.setHeader(request, "authorization", authorization)
    )
  }).pipe(
    Effect.mapError((e) => fromHttpError(e, what)),
    Effect.timeoutFail({
      duration: timeoutMs,
      onTimeout: () => new HikvisionPullError({ reason: "unreachable", message: `the camera did not answer ${what} within ${timeoutMs} ms` })
    })
  )
  return Effect.gen(function*() {
    const first = yield* attempt
    if (first.status !== 401) return first
    yield* discard(first)
    const header = first.headers["www-authenticate"]
    if (header === undefined) {
      return yield* new HikvisionPullError({ reason: "unauthorized", message: `the camera refused ${what} (401) without a challenge` })
    }
    yield* digest.challenged(header).pipe(
      Effect.mapError((e) => new HikvisionPullError({ reason: "unauthorized", message: e.message }))
    )
    const second = yield* attempt
    if (second.status !== 401) return second
    yield* discard(second)
    return yield* new HikvisionPullError({
      reason: "unauthorized",
      message: `the camera refused user "${digest.username}": wrong username or password (or the account is locked)`
    })
  })
}

const expectOk = (response: HttpClientResponse.HttpClientResponse, what: string) =>
  response.status >= 200 && response.status < 300
    ? Effect.succeed(response)
    : Effect.zipRight(
      discard(response),
      Effect.fail(
        new HikvisionPullError({
          reason: response.status === 403 ? "unauthorized" : "protocol",
          message: `the camera answered ${what} with HTTP ${response.status}`
        })
      )
    )

// ---------------------------------------------------------------------------------------------
// Part sets of the event stream

const isXml = (part: FormPart) => /xml/i.test(part.contentType) || /\.xml$/i.test(part.filename ?? part.name)

const latin1 = new TextDecoder("latin1")

const element = (xml: string, name: string) =>
  new RegExp(`<(?:\\w+:)?${name}>\\s*([^<]*?)\\s*</`).exec(xml)?.[1]

/**
 * How many pictures follow an alert: an ANPR event announces them in `picNum`; other events (the
 * heartbeats among them) are taken to have none; undefined when an ANPR event does not say. Read off
 * the text: the whole document is parsed once the set is complete.
 */
const picturesExpected = (part: FormPart): number | undefined => {
  const xml = latin1.decode(part.bytes)
  if (element(xml, "eventType") !== "ANPR") return 0
  const count = element(xml, "picNum")
  return count !== undefined && /^\d+$/.test(count) ? Number(count) : undefined
}

interface OpenSet {
  readonly parts: Array<FormPart>
  readonly expected: number | undefined
  lastAt: number
}

/**
 * Gathers the parts of the stream into the part sets of events. A set closes when it has the
 * pictures its XML announced, when the next XML comes, when it has waited `waitMs` for more, or at
 * the end of the input (whose cut-off part the splitter has already dropped). A picture with no XML
 * before it belongs to an event whose XML was lost, and is dropped.
 */
class PartSets {
  private open: OpenSet | undefined

  constructor(private readonly waitMs: number) {}

  push(part: FormPart, now: number): ReadonlyArray<ReadonlyArray<FormPart>> {
    if (isXml(part)) {
      const closed = this.close()
      this.open = { parts: [part], expected: picturesExpected(part), lastAt: now }
      return [...closed, ...this.closeIfComplete()]
    }
    if (this.open === undefined) return []
    this.open.parts.push(part)
    this.open.lastAt = now
    return this.closeIfComplete()
  }

  expire(now: number): ReadonlyArray<ReadonlyArray<FormPart>> {
    return this.open !== undefined && now - this.open.lastAt >= this.waitMs ? this.close() : []
  }

  close(): ReadonlyArray<ReadonlyArray<FormPart>> {
    const open = this.open
    this.open = undefined
    return open === undefined ? [] : [open.parts]
  }

  private closeIfComplete() {
    const open = this.open
    return open !== undefined && open.expected !== undefined && open.parts.length - 1 >= open.expected ? this.close() : []
  }
}

/** The event part sets of a stream of parts; a set still open when the input fails is given before the failure. */
const partSets = (waitMs: number) => <E, R>(parts: Stream.Stream<FormPart, E, R>) =>
  Stream.suspend(() => {
    const sets = new PartSets(waitMs)
    const ticks = Stream.tick(Math.max(50, Math.floor(waitMs / 4))).pipe(Stream.as(undefined))
    const drain = Stream.suspend(() => Stream.fromIterable(sets.close()))
    return Stream.merge(parts, ticks, { haltStrategy: "left" }).pipe(
      Stream.mapConcatEffect((part) =>
        Effect.map(Clock.currentTimeMillis, (now) => part === undefined ? sets.expire(now) : sets.push(part, now))
      ),
      Stream.concat(drain),
      Stream.catchAll((error) => Stream.concat(drain, Stream.fail(error)))
    )
  })

// ---------------------------------------------------------------------------------------------
// What has been read from the camera

/** A read taken from the camera, as far as telling it again needs. */
interface Taken {
  /** ISO 8601, with the camera's offset */
  readonly timestamp: string
  readonly plate: string
}

const takenOf = (read: CameraRead): Taken => ({ timestamp: read.detection.timestamp, plate: read.detection.plate.text })

/** `yyyyMMddHHmmss` of an ISO time as written, that is in the camera's own clock (reads keep its offset). */
const wallDigits = (iso: string) => /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})/.exec(iso)?.slice(1).join("")

/** `yyyyMMddHHmmss` of an instant on a clock set to `timeZone` (UTC when not given or not known). */
const clockDigits = (ms: number, timeZone: string | undefined) => {
  const format = (zone: string) =>
    new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit"
    }).formatToParts(ms)
  let parts: Array<Intl.DateTimeFormatPart>
  try {
    parts = format(timeZone ?? "UTC")
  } catch {
    parts = format("UTC")
  }
  const field = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? "00"
  return `${field("year")}${field("month")}${field("day")}${field("hour")}${field("minute")}${field("second")}`
}

const RECENT_LIMIT = 2_000

const PICTURES_PER_STORE = 10

/** The newest read taken from the camera, and recent plates, to skip listed plates already read. */
class CameraMemory {
  private newest: { readonly ms: number; readonly iso: string } | undefined
  private recent: Array<{ readonly plate: string; readonly ms: number }> = []
  /** whether the reads buffered by an earlier run have been remembered */
  resumed = false

  constructor(private readonly toleranceMs: number) {}

  remember(reads: ReadonlyArray<Taken>) {
    for (const read of reads) {
      const ms = Date.parse(read.timestamp)
      if (Number.isNaN(ms)) continue
      if (this.newest === undefined || ms > this.newest.ms) this.newest = { ms, iso: read.timestamp }
      this.recent.push({ plate: normalizePlate(read.plate), ms })
    }
    if (this.recent.length > RECENT_LIMIT) this.recent = this.recent.slice(-RECENT_LIMIT)
  }

  /** Reads not already taken: no recent read of the same plate within the tolerance. */
  unseen<R extends CameraRead>(reads: ReadonlyArray<R>): ReadonlyArray<R> {
    return reads.filter((read) => {
      const plate = normalizePlate(read.detection.plate.text)
      const ms = Date.parse(read.detection.timestamp)
      return !this.recent.some((r) => r.plate === plate && Math.abs(r.ms - ms) <= this.toleranceMs)
    })
  }

  /**
   * The `picTime` to backfill after: the newest read's time, else `windowMs` before `now` on the
   * camera's clock; no earlier than `maxMs` before `now` (taken on this machine's clock: a camera
   * whose clock is far behind it gets no backfill).
   */
  picTime(now: number, windowMs: number, maxMs: number, timeZone: string | undefined): string {
    const earliest = now - maxMs
    if (this.newest === undefined) return clockDigits(now - Math.min(windowMs, maxMs), timeZone)
    if (this.newest.ms < earliest) return clockDigits(earliest, timeZone)
    return wallDigits(this.newest.iso) ?? clockDigits(now - Math.min(windowMs, maxMs), timeZone)
  }
}

// ---------------------------------------------------------------------------------------------
// The puller

export interface HikvisionPull {
  /**
   * One connection: opens the event stream, backfills, and feeds reads to `hooks` until the
   * connection ends, which it always does with an error (the stream has no normal end).
   */
  readonly session: <E>(
    credentials: Credentials,
    hooks: SourceHooks<E>
  ) => Effect.Effect<never, HikvisionPullError | E, HttpClient.HttpClient>
}

/** A puller for the camera at `url` (e.g. `http://192.168.1.64`); it remembers what it read across sessions. */
export const makeHikvisionPull = (url: string, ctx: CameraContext, options: HikvisionPullOptions = {}): HikvisionPull => {
  const o = { ...DEFAULTS, ...options }
  const base = url.replace(/\/+$/, "")
  const memory = new CameraMemory(o.matchToleranceMs)
  const nextPicTime = Effect.map(
    Clock.currentTimeMillis,
    (now) => memory.picTime(now, o.startWindowMs, o.maxLookbackMs, ctx.timeZone)
  )

  const take = <E>(hooks: SourceHooks<E>, parsed: Parsed) =>
    Effect.zipRight(hooks.store(parsed), Effect.sync(() => memory.remember(parsed.reads.map(takenOf))))

  /**
   * Once per process: the reads an earlier run buffered, so that the first backfill starts from the
   * newest of them and does not take again those the list returns. Without them (a failed query)
   * the backfill looks back `startWindowMs`.
   */
  const resume = <E>(hooks: SourceHooks<E>) =>
    memory.resumed ? Effect.void : hooks.buffered(o.matchToleranceMs).pipe(
      Effect.tap((reads) =>
        Effect.sync(() => {
          memory.remember(reads)
          memory.resumed = true
        })
      ),
      Effect.catchAll((error) => Effect.logWarning("cannot read the newest buffered read of the camera", Cause.fail(error))),
      Effect.asVoid
    )

  const onPartSet = <E>(hooks: SourceHooks<E>) => (parts: ReadonlyArray<FormPart>) =>
    Either.match(parseAlertParts(parts, ctx), {
      onLeft: hooks.refused,
      onRight: (parsed) => take(hooks, parsed)
    })

  const readStream = <E>(response: HttpClientResponse.HttpClientResponse, boundary: string, hooks: SourceHooks<E>) =>
    response.stream.pipe(
      Stream.mapError((e) => fromHttpError(e, "the event stream")),
      Stream.timeoutFail(
        () => new HikvisionPullError({ reason: "closed", message: `no data from the camera for ${o.idleTimeoutMs / 1000} s` }),
        o.idleTimeoutMs
      ),
      splitMultipart(boundary, { maxPartBytes: o.maxPartBytes }),
      Stream.mapError((e) =>
        e._tag === "MultipartStreamError" ? new HikvisionPullError({ reason: "protocol", message: `event stream: ${e.message}` }) : e
      ),
      Stream.map(asFormPart),
      partSets(o.pictureWaitMs),
      Stream.runForEach(onPartSet(hooks)),
      Effect.zipRight(new HikvisionPullError({ reason: "closed", message: "the camera ended the event stream" }))
    )

  /**
   * A listed read with its plate picture. A picture that cannot be had (none, an error, too slow, not
   * an image) costs the picture, not the read: the read is kept without it, and the loss logged.
   */
  const withPicture = (send: ReturnType<typeof digestSender>, read: ListedRead): Effect.Effect<CameraRead> => {
    const bare: CameraRead = { detection: read.detection, images: [] }
    const picName = read.picName
    if (picName === undefined) return Effect.succeed(bare)
    const what = `the picture of plate ${picName}`
    return send(HttpClientRequest.get(`${base}${platePicturePath(picName)}`), what).pipe(
      Effect.flatMap((response) => expectOk(response, what)),
      Effect.flatMap((response) => {
        const declared = Number(response.headers["content-length"])
        // An unread body is aborted by the client once the response is dropped.
        return declared > o.maxPartBytes
          ? new HikvisionPullError({ reason: "protocol", message: `${what} is ${declared} bytes, over the limit of ${o.maxPartBytes}` })
          : response.arrayBuffer.pipe(
            Effect.mapError((e) => fromHttpError(e, what)),
            Effect.timeoutFail({
              duration: o.requestTimeoutMs,
              onTimeout: () => new HikvisionPullError({ reason: "unreachable", message: `${what} did not come within ${o.requestTimeoutMs} ms` })
            })
          )
      }),
      Effect.flatMap((bytes) => platePicture(picName, new Uint8Array(bytes))),
      Effect.map((picture): CameraRead => ({ detection: read.detection, images: [picture] })),
      Effect.catchAll((error) =>
        Effect.as(
          Effect.logWarning("plate picture not fetched: the read is kept without it").pipe(
            Effect.annotateLogs({ plate: read.detection.plate.text, pic_name: picName, reason: error.message })
          ),
          bare
        )
      )
    )
  }

  /**
   * The plates listed after `picTime`, page by page: each page asks after the last picName of the
   * one before. Pictures are fetched one at a time (the Digest nonce count must rise in order) and
   * stored `PICTURES_PER_STORE` reads at a time, to hold few pictures in memory. A camera without a
   * plate list, or any failure here, costs the backfill, not the stream.
   */
  const backfill = <E>(
    send: ReturnType<typeof digestSender>,
    picTime: string,
    hooks: SourceHooks<E>
  ) =>
    Effect.gen(function*() {
      let after = picTime
      for (let page = 0; page < o.maxBackfillPages; page++) {
        const request = HttpClientRequest.post(`${base}${platesPath(o.channel)}`).pipe(
          HttpClientRequest.bodyText(platesQuery(after), "application/xml")
        )
        const response = yield* Effect.flatMap(send(request, "the plate list"), (r) => expectOk(r, "the plate list"))
        const xml = yield* response.text.pipe(Effect.mapError((e) => fromHttpError(e, "the plate list")))
        const listed = parsePlates(xml, ctx, o.channel)
        if (Either.isLeft(listed)) return yield* hooks.refused(listed.left)
        const { reads, noPlate, lastPicName } = listed.right
        if (noPlate > 0) yield* take(hooks, { reads: [], noPlate })
        for (const chunk of Arr.chunksOf(memory.unseen(reads), PICTURES_PER_STORE)) {
          yield* take(hooks, { reads: yield* Effect.forEach(chunk, (read) => withPicture(send, read)), noPlate: 0 })
        }
        if (reads.length + noPlate === 0 || lastPicName === undefined || lastPicName === after) return
        after = lastPicName
      }
    }).pipe(
      Effect.catchIf(
        (e): e is HikvisionPullError => e instanceof HikvisionPullError,
        (e) => Effect.logWarning("backfill from the camera's plate list failed").pipe(Effect.annotateLogs({ reason: e.message }))
      ),
      Effect.withSpan("HikvisionPull.backfill", { attributes: { picTime } })
    )

  const session = <E>(credentials: Credentials, hooks: SourceHooks<E>) =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const send = digestSender(client, new DigestSession(credentials.username, credentials.password), o.requestTimeoutMs)
      const response = yield* send(HttpClientRequest.get(`${base}${ALERT_STREAM}`), "the event stream").pipe(
        Effect.flatMap((r) => expectOk(r, "the event stream"))
      )
      const contentType = response.headers["content-type"]
      const boundary = boundaryOf(contentType)
      if (boundary === undefined) {
        yield* discard(response)
        return yield* new HikvisionPullError({
          reason: "protocol",
          message: `the camera answered the event stream with ${contentType ?? "no Content-Type"}, not a multipart stream`
        })
      }
      yield* resume(hooks)
      const picTime = yield* nextPicTime
      yield* hooks.connected
      return yield* Effect.all([readStream(response, boundary, hooks), backfill(send, picTime, hooks)], {
        concurrency: 2
      }).pipe(Effect.zipRight(Effect.never))
    })

  return { session }
}
