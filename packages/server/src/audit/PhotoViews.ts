import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { randomBytes, timingSafeEqual } from "node:crypto"
import { sha256Hex } from "../crypto/Tokens"
import { orBug } from "../db/Rows"
import { Audit } from "./Audit"
import { type GivenReason, makeReasonOf, reasonDetails } from "./Reason"

/**
 * Photo views by the page. A listing that shows many plate crops (a page of search results) records
 * ONE `image.view` row naming every read whose crop it links (`details.reads`, `details.kind`), with
 * who, from where and why (the search's reason), and its crop links carry a view token
 * (`?view=<row id>.<secret>`). The images door serves a crop against that row without a row of its
 * own; without a token (a scene photo, a read's own page, the wall) every photo is audited by itself.
 *
 * The live feed (the wall's tiles, the operator's latest reads) is a listing that never ends: a
 * connection that carries reads records one `image.view` row when it opens (via `live`, naming the
 * reads it replays and `live_after`, the last event before its live ones) and gives its token in a
 * `{"type": "view"}` message; then one row a minute naming the reads with a crop it sent in that
 * minute (and one when it closes), and a new token every LIVE_VIEW_TOKEN_SECONDS (20 minutes). A live token also
 * covers a read sent after `live_after`, named by its live event (`&event=`), so a crop shown before
 * the minute's row is written is covered by a row written before it was served.
 *
 * The row is the token's state, so any replica checks a token with one primary-key read and no table
 * of its own. A token is good only for the reads its row names, for the session that listed them (its
 * row keeps SHA-256 of the secret and the session, never the secret), and for VIEW_TOKEN_MINUTES.
 */
export const VIEW_TOKEN_MINUTES = 30


/** A page links at most this many crops under one token; crops beyond it are audited one by one. */
export const MAX_VIEW_READS = 500

/** The crop links a listing gives (the ImagesApi path, as `imageLinks` makes them). */
const CROP_LINK = /^\/api\/v1\/detections\/(\d{1,19})\/images\/plate$/

/** `?view=` as links carry it: the row's id, a dot, 32 random bytes in base64url. */
export const VIEW_TOKEN = /^(\d{1,18})\.([A-Za-z0-9_-]{43})$/

const fingerprint = (secret: string, sessionHash: string) => sha256Hex(`alpr-photo-view-v1\n${secret}\n${sessionHash}`)

const ViewRow = Schema.Struct({
  actor_id: Schema.NullOr(Schema.String),
  live: Schema.Boolean,
  token_sha256: Schema.NullOr(Schema.String),
  kind: Schema.NullOr(Schema.String),
  reads: Schema.NullOr(Schema.Array(Schema.String)),
  /** a live view's last event before its live reads */
  live_after: Schema.NullOr(Schema.String)
})

export interface PageViewer {
  readonly actor: { readonly userId: string; readonly username: string; readonly sessionHash: string }
  readonly address: string
  /** the listing's reason, as its request gave it (already checked by the listing) */
  readonly given: GivenReason
  /** what listed the reads: "search" */
  readonly via: string
}

/** Who watches a live feed, and from where. */
export interface LiveViewer {
  readonly actor: { readonly userId: string; readonly username: string; readonly sessionHash: string }
  readonly address: string
}

/** Why a token was refused: said to the user (403) and recorded as access.denied. */
export type ViewRefusal = { readonly viewId: string; readonly message: string }

/**
 * The plate-crop links of a listing's JSON: the `images.plate` of each read in it, wherever the reads sit
 * (a page's items, a timeline's sightings). Only there: text a camera or a person wrote (a vehicle's make, a
 * note) may look like a link, and must neither be covered by the view nor given a token.
 */
const mapCropLinks = (value: unknown, f: (link: string) => string): unknown => {
  if (Array.isArray(value)) return value.map((item) => mapCropLinks(item, f))
  if (value === null || typeof value !== "object") return value
  return Object.fromEntries(Object.entries(value).map(([key, item]) => {
    if (key === "images" && item !== null && typeof item === "object" && typeof (item as { plate?: unknown }).plate === "string") {
      const images = item as { readonly plate: string }
      return [key, { ...images, plate: f(images.plate) }]
    }
    return [key, mapCropLinks(item, f)]
  }))
}

/** Every crop link of a listing, in order (see mapCropLinks). */
const eachCropLink = (value: unknown, f: (link: string) => void): void =>
  void mapCropLinks(value, (link) => {
    f(link)
    return link
  })

export const makePhotoViews = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const audit = yield* Audit
  const reasonOf = yield* makeReasonOf

  const viewOf = SqlSchema.findOne({
    Request: Schema.String,
    Result: ViewRow,
    execute: (id) =>
      sql`
        SELECT actor_id::text AS actor_id,
               at > now() - make_interval(mins => ${VIEW_TOKEN_MINUTES}) AS live,
               details->>'token_sha256' AS token_sha256, details->>'kind' AS kind,
               CASE WHEN jsonb_typeof(details->'reads') = 'array' THEN details->'reads' END AS reads,
               CASE WHEN details->>'via' = 'live' THEN details->>'live_after' END AS live_after
          FROM audit_log
         WHERE id = ${id}::bigint AND action = 'image.view' AND outcome = 'success'`
  })

  // A read sent live after the view's start, named by its event in the live feed's journal.
  const sentLive = SqlSchema.findOne({
    Request: Schema.Struct({ event: Schema.String, readId: Schema.String, after: Schema.String }),
    Result: Schema.Struct({ covered: Schema.Boolean }),
    execute: ({ after, event, readId }) =>
      sql`
        SELECT true AS covered FROM live_events
         WHERE id = ${event}::bigint AND id > ${after}::bigint AND kind = 'detection' AND detection_id = ${readId}::bigint`
  })

  const tokenFor = (sessionHash: string) => {
    const secret = randomBytes(32).toString("base64url")
    return { secret, fingerprint: fingerprint(secret, sessionHash) }
  }

  const targetOf = (reads: ReadonlyArray<string>, empty: string) =>
    reads.length === 0 ? empty : `detection:${reads[0]}/plate${reads.length > 1 ? ` +${reads.length - 1}` : ""}`

  /**
   * One row of a live connection's view: the reads with a crop it sent since its last row (at most
   * MAX_VIEW_READS: the caller writes as many rows as it needs), and, with `after`, a new token covering
   * those reads and every one sent after event `after` (the token comes back; without `after`, none).
   */
  const live = (viewer: LiveViewer, reads: ReadonlyArray<string>, after?: number): Effect.Effect<string | undefined> =>
    Effect.gen(function*() {
      const token = after === undefined ? undefined : tokenFor(viewer.actor.sessionHash)
      const viewId = yield* audit.recordReturningId({
        actor: viewer.actor,
        address: viewer.address,
        action: "image.view",
        target: targetOf(reads, "live feed"),
        details: {
          via: "live",
          kind: "plate",
          count: reads.length,
          reads,
          ...(token === undefined ? {} : { live_after: String(after), token_sha256: token.fingerprint })
        },
        outcome: "success"
      })
      return token === undefined ? undefined : `${viewId}.${token.secret}`
    })

  /**
   * Covers the plate crops a listing links with one audited view: the row is written here, before
   * the listing is answered, and the links come back with its token. A listing without crops writes
   * nothing and comes back as it was.
   */
  const cover = <A>(listing: A, viewer: PageViewer): Effect.Effect<A> =>
    Effect.gen(function*() {
      const reads: Array<string> = []
      eachCropLink(listing, (text) => {
        const id = CROP_LINK.exec(text)?.[1]
        if (id !== undefined && !reads.includes(id) && reads.length < MAX_VIEW_READS) reads.push(id)
      })
      if (reads.length === 0) return listing
      const reason = yield* reasonOf(viewer.given, viewer.via, { required: false }).pipe(Effect.orDie)
      const { fingerprint: tokenSha256, secret } = tokenFor(viewer.actor.sessionHash)
      const viewId = yield* audit.recordReturningId({
        actor: viewer.actor,
        address: viewer.address,
        action: "image.view",
        target: targetOf(reads, ""),
        reason: reason.text,
        details: {
          ...reasonDetails(reason),
          via: viewer.via,
          kind: "plate",
          count: reads.length,
          reads,
          token_sha256: tokenSha256
        },
        outcome: "success"
      })
      const covered = new Set(reads)
      const token = `${viewId}.${secret}`
      return mapCropLinks(listing, (text) => {
        const id = CROP_LINK.exec(text)?.[1]
        return id !== undefined && covered.has(id) ? `${text}?view=${token}` : text
      }) as A
    })

  /**
   * Whether `token` covers this read's photo for this session: the view's row id when it does (the
   * photo is then served without a row of its own), a refusal saying why when it does not. `event`: the
   * read's live event, for a live view's token.
   */
  const check = (
    token: string,
    actor: { readonly userId: string; readonly sessionHash: string },
    readId: string,
    kind: string,
    event?: string
  ): Effect.Effect<string, ViewRefusal> =>
    Effect.gen(function*() {
      const parts = VIEW_TOKEN.exec(token)
      if (parts === null) return yield* Effect.fail({ viewId: "", message: "view is not a photo view token" })
      const [, viewId, secret] = parts as unknown as [string, string, string]
      const refuse = (message: string) => Effect.fail({ viewId, message })
      const found = yield* orBug(viewOf(viewId)).pipe(Effect.orDie)
      const row = Option.getOrUndefined(found)
      const expected = Buffer.from(fingerprint(secret, actor.sessionHash))
      if (
        row === undefined || row.actor_id !== actor.userId || row.token_sha256 === null ||
        row.token_sha256.length !== expected.length || !timingSafeEqual(Buffer.from(row.token_sha256), expected)
      ) {
        return yield* refuse("this photo link was not given to this session: open it from your own search")
      }
      if (!row.live) return yield* refuse(`this photo link has expired (after ${VIEW_TOKEN_MINUTES} minutes): search again`)
      if (row.kind !== kind) return yield* refuse("this photo link's view does not cover this photo")
      if ((row.reads ?? []).includes(readId)) return viewId
      const after = row.live_after
      const sent = after === null || event === undefined
        ? Option.none()
        : yield* orBug(sentLive({ event, readId, after })).pipe(Effect.orDie)
      if (Option.isNone(sent)) return yield* refuse("this photo link's view does not cover this photo")
      return viewId
    })

  return { cover, live, check } as const
})

export type PhotoViews = Effect.Effect.Success<typeof makePhotoViews>
