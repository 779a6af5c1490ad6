import { AlprApi } from "@chaverim/domain/Api"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as Effect from "effect/Effect"
import { Transparency } from "./Transparency"

/** GET /api/v1/transparency: public, no session (the report holds counts only). */
export const TransparencyHttpLayer = HttpApiBuilder.group(AlprApi, "transparency", (handlers) =>
  Effect.map(Transparency, (transparency) => handlers.handle("report", () => transparency.report)))
