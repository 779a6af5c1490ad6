import type * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

/**
 * An endpoint's path with its parameters filled from `values` (candidates per parameter name, tried
 * in order), choosing for each the first its path schema decodes, so that what answers a request is
 * the endpoint, not the router. A parameter with no candidate that decodes is `x`.
 */
export const concretePath = (
  endpoint: HttpApiEndpoint.HttpApiEndpoint.AnyWithProps,
  values: Readonly<Record<string, ReadonlyArray<string>>>
): string => {
  const names = [...endpoint.path.matchAll(/:(\w+)/g)].map((m) => m[1]!)
  const choice: Record<string, string> = Object.fromEntries(names.map((n) => [n, values[n]?.[0] ?? "x"]))
  const decodes = (candidate: Record<string, string>) =>
    Option.match(endpoint.pathSchema, {
      onNone: () => true,
      onSome: (schema) => Either.isRight(Schema.decodeUnknownEither(schema as Schema.Schema<unknown>)(candidate))
    })
  for (const name of names) {
    const value = (values[name] ?? []).find((v) => decodes({ ...choice, [name]: v }))
    if (value !== undefined) choice[name] = value
  }
  return endpoint.path.replace(/:(\w+)/g, (_, name: string) => choice[name]!)
}
