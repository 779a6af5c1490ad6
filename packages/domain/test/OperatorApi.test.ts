import * as HttpApi from "@effect/platform/HttpApi"
import type * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import { describe, expect, it } from "@effect/vitest"
import { AlprApi } from "../src/Api"
import { OperatorApi } from "../src/OperatorApi"

/** Each endpoint as a client derived from the API sees it: the request, and every answer by status. */
const endpointsOf = <Id extends string, Groups extends HttpApiGroup.HttpApiGroup.Any, E, R>(api: HttpApi.HttpApi<Id, Groups, E, R>) => {
  const endpoints = new Map<string, unknown>()
  HttpApi.reflect(api, {
    onGroup: () => {},
    onEndpoint: ({ group, endpoint, middleware, payloads, successes, errors }) =>
      void endpoints.set(`${group.identifier}.${endpoint.name}`, {
        method: endpoint.method,
        path: endpoint.path,
        pathSchema: endpoint.pathSchema,
        urlParamsSchema: endpoint.urlParamsSchema,
        headersSchema: endpoint.headersSchema,
        payloads: [...payloads],
        successes: [...successes],
        errors: [...errors],
        middleware: [...middleware]
      })
  })
  return endpoints
}

describe("OperatorApi (the web app's first page calls it)", () => {
  it("has AlprApi's endpoints of its groups, with the same requests, answers and errors", () => {
    const whole = endpointsOf(AlprApi)
    const part = endpointsOf(OperatorApi)
    expect([...part.keys()].sort()).toEqual(
      [...whole.keys()].filter((key) => /^(auth|search|corrections)\./.test(key)).sort()
    )
    for (const [key, endpoint] of part) expect(endpoint, key).toEqual(whole.get(key))
  })
})
