import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { appConfig } from "../src/Config"

/** The retention settings as the server reads them: defaults, and a bad value refused with its name. */
const read = (env: Record<string, string>) =>
  Effect.runSync(Effect.either(Effect.withConfigProvider(appConfig, ConfigProvider.fromMap(new Map(Object.entries(env))))))

const refusal = (env: Record<string, string>) => {
  const result = read(env)
  expect(Either.isLeft(result), JSON.stringify(env)).toBe(true)
  return String(Either.isLeft(result) ? result.left : "")
}

describe("retention settings", () => {
  it("default to photos a year, reads seven years, non-hits off, a run an hour", () => {
    const result = read({})
    expect(Either.isRight(result)).toBe(true)
    if (Either.isRight(result)) {
      expect(result.right.retention).toEqual({
        sceneImageDays: 365,
        plateImageDays: 365,
        detectionDays: 2557,
        nonhitMinutes: Option.none(),
        intervalMinutes: Option.some(60)
      })
    }
  })

  it("take whole numbers and off", () => {
    const result = read({ RETENTION_SCENE_IMAGE_DAYS: "30", RETENTION_NONHIT_MINUTES: "5", RETENTION_INTERVAL_MINUTES: "off" })
    expect(Either.isRight(result) && result.right.retention).toMatchObject({
      sceneImageDays: 30,
      nonhitMinutes: Option.some(5),
      intervalMinutes: Option.none()
    })
  })

  it("refuse a bad value, naming the setting", () => {
    expect(refusal({ RETENTION_SCENE_IMAGE_DAYS: "a year" })).toMatch(/RETENTION_SCENE_IMAGE_DAYS is a whole number of days/)
    expect(refusal({ RETENTION_PLATE_IMAGE_DAYS: "0" })).toMatch(/RETENTION_PLATE_IMAGE_DAYS/)
    expect(refusal({ RETENTION_DETECTION_DAYS: "1.5" })).toMatch(/RETENTION_DETECTION_DAYS/)
    expect(refusal({ RETENTION_NONHIT_MINUTES: "-5" })).toMatch(/RETENTION_NONHIT_MINUTES is a whole number of minutes/)
    expect(refusal({ RETENTION_INTERVAL_MINUTES: "hourly" })).toMatch(/RETENTION_INTERVAL_MINUTES/)
  })

  it("refuse a photo that would outlive its read, and a non-hit that would outlive a hit", () => {
    expect(refusal({ RETENTION_DETECTION_DAYS: "300" })).toMatch(/RETENTION_DETECTION_DAYS \(300\) is shorter than RETENTION_SCENE_IMAGE_DAYS/)
    expect(refusal({ RETENTION_DETECTION_DAYS: "400", RETENTION_NONHIT_MINUTES: String(401 * 1440) })).toMatch(
      /RETENTION_NONHIT_MINUTES is longer than RETENTION_DETECTION_DAYS/
    )
  })
})
