import { type Alert, type AlertDetection, LIVE_PATH, LIVE_REPLAY_MAX, LiveMessage } from "@chaverim/domain/Alerts"
import type { HealthAlert } from "@chaverim/domain/Health"
import * as Socket from "@effect/platform/Socket"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { useEffect, useRef, useState } from "react"
import { notifySignedOut } from "./hooks"
import { socketUrl } from "./socketUrl"

const decode = Schema.decodeUnknownEither(Schema.parseJson(LiveMessage))

/** Close codes of the live feed: the session ended (sign in again), or "resync" (reconnect from the number given). */
const SESSION_ENDED = 4401

// 1 s, 2 s, 4 s … with jitter, never more than 30 s apart; back to 1 s after a minute without failures.
const reconnect = Schedule.exponential(Duration.seconds(1), 2).pipe(
  Schedule.jittered,
  Schedule.union(Schedule.spaced(Duration.seconds(30))),
  Schedule.resetAfter(Duration.minutes(1))
)

class SessionEnded {
  readonly _tag = "SessionEnded"
}

interface Handlers {
  readonly onOpen: () => void
  readonly onDown: () => void
  readonly onMessage: (message: LiveMessage) => void
}

interface FeedOptions {
  /** "alerts": the server leaves out the reads */
  readonly only?: "alerts" | undefined
  /** how many of the latest reads a fresh connection starts with (the server's default when not given) */
  readonly replay?: number | undefined
}

/**
 * The feed's address: `only=alerts` leaves out the reads; `after` resumes after the last event seen,
 * else `replay` asks for the latest reads first.
 */
const feedPath = ({ only, replay }: FeedOptions, after: number | undefined) => {
  const params = new URLSearchParams({
    ...(only === undefined ? {} : { only }),
    ...(after === undefined ? (replay === undefined ? {} : { replay: String(replay) }) : { after: String(after) })
  }).toString()
  return params === "" ? LIVE_PATH : `${LIVE_PATH}?${params}`
}

type LiveRead = Extract<LiveMessage, { readonly type: "detection" }>

/**
 * A read whose crop link carries the connection's view token and the read's event: the connection's
 * audited view covers it (no audit row of its own per crop).
 */
const withView = (message: LiveRead, token: string | undefined): LiveRead => {
  const plate = message.detection.images.plate
  if (token === undefined || plate === undefined) return message
  const query = new URLSearchParams({ view: token, event: String(message.event_id) }).toString()
  return {
    ...message,
    detection: { ...message.detection, images: { ...message.detection.images, plate: `${plate}?${query}` } }
  }
}

/**
 * The live feed at /api/v1/live: starts with the latest reads (marked `replayed`), reconnects by itself,
 * resuming after the last event it saw so that nothing is missed or shown twice. Ends only when the
 * session has.
 */
const follow = (handlers: Handlers, options: FeedOptions) => {
  let after: number | undefined
  const connection = Effect.gen(function*() {
    // The token this connection's crops are fetched with (a `view` message gives it, and replaces it).
    let view: string | undefined
    const socket = yield* Socket.makeWebSocket(socketUrl(feedPath(options, after)), {
      closeCodeIsError: () => true
    })
    yield* socket.runRaw((data) => {
      const message = decode(typeof data === "string" ? data : new TextDecoder().decode(data))
      if (Either.isLeft(message)) return
      const m = message.right
      if (m.type === "view") view = m.token
      else if (m.type === "hello") after ??= m.last_event_id
      else if (m.type === "resync") after = m.last_event_id
      else after = Math.max(after ?? 0, m.event_id)
      if (m.type === "detection") handlers.onMessage(withView(m, view))
      else if (m.type !== "view") handlers.onMessage(m)
    }, { onOpen: Effect.sync(handlers.onOpen) })
  })
  return connection.pipe(
    Effect.catchIf(
      (error) => Socket.SocketCloseError.is(error) && error.code === SESSION_ENDED,
      () => Effect.fail(new SessionEnded())
    ),
    Effect.tapError(() => Effect.sync(handlers.onDown)),
    Effect.retry({ schedule: reconnect, while: (error) => !(error instanceof SessionEnded) }),
    Effect.catchAll(() => Effect.sync(notifySignedOut)),
    Effect.provide(Socket.layerWebSocketConstructorGlobal)
  )
}

/**
 * Alerts raised or changed as they happen; `onResync` when some may have been missed (load them again).
 * `onHealth`: a health alert raised or cleared (admins' feeds carry them).
 */
export interface AlertEvents {
  readonly onAlert: (alert: Alert) => void
  readonly onResync: () => void
  readonly onHealth?: ((health: HealthAlert) => void) | undefined
}

const alertHandler = (events: { readonly current: AlertEvents | undefined }) => (message: LiveMessage) => {
  if (message.type === "alert") events.current?.onAlert(message.alert)
  else if (message.type === "health") events.current?.onHealth?.(message.health)
  else if (message.type === "resync") events.current?.onResync()
}

const run = (handlers: Handlers, options: FeedOptions = {}) => {
  const fiber = Effect.runFork(follow(handlers, options))
  return () => void Effect.runFork(Fiber.interrupt(fiber))
}

/** Follows only the alerts of the live feed (the operator's alert list): the server leaves the reads out. */
export const useLiveAlerts = (events: AlertEvents) => {
  const latest = useRef(events)
  latest.current = events
  useEffect(() => {
    const onAlert = alertHandler(latest)
    return run({ onOpen: () => undefined, onDown: () => undefined, onMessage: onAlert }, { only: "alerts" })
  }, [])
}

export type LiveStatus = "connecting" | "live" | "reconnecting"

export interface LiveState {
  readonly status: LiveStatus
  /** newest first */
  readonly reads: ReadonlyArray<AlertDetection>
  /** reads counted since `since` (local midnight, or when the page opened if later); replayed ones are not */
  readonly count: number
  readonly since: Date
  /** when the feed last said anything, or connected */
  readonly lastHeard: Date | undefined
}

const midnight = (now = new Date()) => new Date(now.getFullYear(), now.getMonth(), now.getDate())

/**
 * Follows the live feed for the wall and the operator's home. It opens on the latest `keep` reads
 * (replayed by the server, not counted as new). Reads arriving faster than the screen refreshes (50 a
 * second at a busy time) are gathered and applied once per animation frame, keeping `keep` of them.
 * Alerts, rare and urgent, go to `alerts` as they come, over the same connection.
 */
export const useLiveFeed = (keep = 24, alerts?: AlertEvents): LiveState => {
  const [state, setState] = useState<LiveState>(() => ({
    status: "connecting", reads: [], count: 0, since: new Date(), lastHeard: undefined
  }))
  const pending = useRef<Array<AlertDetection>>([])
  const pendingNew = useRef(0)
  const frame = useRef<number>(undefined)
  const events = useRef(alerts)
  events.current = alerts

  useEffect(() => {
    const flush = () => {
      frame.current = undefined
      const arrived = pending.current.reverse()
      const fresh = pendingNew.current
      pending.current = []
      pendingNew.current = 0
      setState((s) => {
        const today = midnight()
        const rolled = s.since < today
        return {
          ...s,
          reads: [...arrived, ...s.reads].slice(0, keep),
          count: (rolled ? 0 : s.count) + fresh,
          since: rolled ? today : s.since,
          lastHeard: new Date()
        }
      })
    }
    const onAlert = alertHandler(events)
    const stop = run({
      onOpen: () => setState((s) => ({ ...s, status: "live", lastHeard: new Date() })),
      onDown: () => setState((s) => (s.status === "reconnecting" ? s : { ...s, status: "reconnecting" })),
      onMessage: (message) => {
        if (message.type !== "detection") return onAlert(message)
        pending.current.push(message.detection)
        if (message.replayed !== true) pendingNew.current++
        // A hidden tab draws no frames: only the reads that would still be shown are held meanwhile.
        if (pending.current.length > 2 * keep) pending.current.splice(0, pending.current.length - keep)
        frame.current ??= window.requestAnimationFrame(flush)
      }
    }, { replay: Math.min(keep, LIVE_REPLAY_MAX) })
    return () => {
      if (frame.current !== undefined) window.cancelAnimationFrame(frame.current)
      stop()
    }
  }, [keep])

  return state
}
