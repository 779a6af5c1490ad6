import type { FootageSettings } from "@chaverim/server/Config"
import * as Option from "effect/Option"
import type { FakeRecogniser } from "../../../test-support/FakeRecognisers"

/** A server's footage settings reading frames with a local CodeProject.AI (test-support/FakeRecognisers.ts). */
export const footageWith = (recogniser: FakeRecogniser, overrides: Partial<FootageSettings> = {}): FootageSettings => ({
  recogniser: "codeproject",
  recogniserUrl: Option.some(recogniser.url),
  recogniserToken: Option.none(),
  recogniserRegions: [],
  fps: 2,
  jobWorkers: 1,
  jobLeaseSeconds: 3,
  ...overrides
})
