import type { NotFound } from "@chaverim/domain/Errors"
import type { AlertStateConflict } from "@chaverim/domain/Alerts"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { type AlertActor, Alerts } from "../alerts/Alerts"

/**
 * What the bot's buttons do to an alert: the alert service's acknowledge and "on my way" (which audit
 * the change and publish it to the live feed), answered in words for the person who tapped.
 */

export interface AlertActionInput {
  readonly alertId: string
  readonly actor: AlertActor
}

/**
 * The one answer to a button that names no alert the person may see: made up, signed for another
 * chat, of a deleted alert, or of a list they may not (or no longer) see. It must not tell these apart,
 * or pressing made-up buttons would reveal which alert ids exist.
 */
export const BUTTON_REFUSED = "This button does not work here (any more). Open the alerts in the web app."

/** The action was not taken; `message` is shown to the person who pressed the button. */
export class AlertActionRefused extends Data.TaggedError("AlertActionRefused")<{ readonly message: string }> {}

export interface AlertActionsShape {
  /** Succeeds with the answer to show. */
  readonly acknowledge: (input: AlertActionInput) => Effect.Effect<string, AlertActionRefused>
  readonly enRoute: (input: AlertActionInput) => Effect.Effect<string, AlertActionRefused>
}

export class TelegramAlertActions extends Context.Tag("@chaverim/server/TelegramAlertActions")<
  TelegramAlertActions,
  AlertActionsShape
>() {}

const refused = (error: NotFound | AlertStateConflict) =>
  new AlertActionRefused({
    message: error._tag === "NotFound"
      ? BUTTON_REFUSED
      : error.status === "resolved"
      ? "This alert is already resolved."
      : error.message
  })

export const TelegramAlertActionsLayer = Layer.effect(
  TelegramAlertActions,
  Effect.map(Alerts, (alerts) => ({
    acknowledge: ({ actor, alertId }) =>
      alerts.acknowledge({ alertId, actor, via: "telegram" }).pipe(
        Effect.mapError(refused),
        // Acknowledging twice changes nothing: the first acknowledgement stands, and is what to say.
        Effect.map((alert) =>
          alert.acknowledged_by !== null && alert.acknowledged_by !== actor.username
            ? `Already acknowledged by ${alert.acknowledged_by}.`
            : "✅ Acknowledged"
        )
      ),
    enRoute: ({ actor, alertId }) =>
      alerts.enRoute({ alertId, actor, via: "telegram" }).pipe(
        Effect.mapError(refused),
        Effect.as("🚗 Noted: you are on your way")
      )
  }))
)
