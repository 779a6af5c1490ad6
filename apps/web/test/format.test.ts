import { beforeAll, describe, expect, it } from "vitest"

// The formatters take the zone and the language at load, as a browser does: both are set first.
process.env.TZ = "America/New_York"

let format: typeof import("../src/ui/format")

beforeAll(async () => {
  format = await import("../src/ui/format")
})

describe("the one date format (apps/web/src/ui/format.ts)", () => {
  it("runs in the zone and language these expectations are written for", () => {
    // Node takes its language from the environment (LANG): these expectations are en-US's words.
    expect(Intl.DateTimeFormat().resolvedOptions()).toMatchObject({ locale: "en-US", timeZone: "America/New_York" })
  })

  it("shows a full moment with weekday, date, year, time and zone, in winter and in summer", () => {
    expect(format.formatDateTime("2026-12-06T00:41:12Z")).toBe("Sat, Dec 5, 2026, 07:41:12 PM EST")
    expect(format.formatDateTime("2026-07-04T16:05:00Z")).toBe("Sat, Jul 4, 2026, 12:05:00 PM EDT")
  })

  it("shows a table's moment with the year and zone", () => {
    expect(format.formatShort("2026-11-27T07:28:00Z")).toBe("Nov 27, 2026, 02:28 AM EST")
    expect(format.formatShort(new Date("2025-01-02T15:00:00Z"))).toBe("Jan 2, 2025, 10:00 AM EST")
  })

  it("says the time and zone alone for today, and the date with the year for any other day", () => {
    const now = new Date("2026-12-06T21:00:00Z") // 4 PM in New York, Dec 6
    expect(format.formatWhen("2026-12-06T14:02:03Z", now)).toBe("09:02:03 AM EST")
    // 02:00 UTC on Dec 6 is still Dec 5 in New York: yesterday there, with its day and year.
    expect(format.formatWhen("2026-12-06T02:00:00Z", now)).toBe("Sat, Dec 5, 2026, 09:00 PM EST")
    expect(format.formatWhen("2025-12-06T14:02:03Z", now)).toBe("Sat, Dec 6, 2025, 09:02 AM EST")
  })

  it("keeps a day without a time to its date and year, and a time of today to its time and zone", () => {
    expect(format.formatDate("2026-03-01T03:00:00Z")).toBe("Feb 28, 2026")
    expect(format.formatTime("2026-12-06T23:59:58Z")).toBe("06:59:58 PM EST")
    expect(format.localZone()).toBe("America/New_York")
  })
})
