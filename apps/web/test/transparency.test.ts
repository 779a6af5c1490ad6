import type { Browser } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startServer, type TestServer } from "../../server/test/harness"
import { appErrors, launch, openPage, PHONE, screenshot, unnamedControls, WALL } from "./browser"
import { CAMERAS, ingest, readAt } from "./fixtures"

let server: TestServer
let browser: Browser

beforeAll(async () => {
  ;[server, browser] = await Promise.all([startServer(), launch()])
  const { apiKey } = await server.collector("Main St")
  await ingest(server, apiKey, [readAt("TRP-1001", CAMERAS[0], 30), readAt("TRP-1002", CAMERAS[1], 20)])
  const operator = await server.signIn("operator")
  for (const code of ["missing_person", "missing_person", "audit"]) {
    const response = await fetch(`${server.url}/api/v1/detections?plate=TRP1001&reason_code=${code}`, { headers: { cookie: operator.cookie } })
    expect(response.status).toBe(200)
  }
})

afterAll(async () => {
  await browser?.close()
  await server?.close()
})

describe("the transparency page", () => {
  it("shows anyone, without signing in, the numbers, why people searched, retention and what the system does not do", async () => {
    for (const [size, viewport] of [["phone", PHONE], ["wall", WALL]] as const) {
      const { page, errors, context } = await openPage(browser, { url: server.url, viewport })
      await page.goto(`${server.url}/transparency`)
      await page.getByRole("heading", { name: "Transparency", level: 1 }).waitFor()
      // Nothing asks to sign in: the page itself, as a visitor sees it.
      expect(await page.getByRole("button", { name: "Continue" }).count()).toBe(0)
      const figure = (label: string) => page.getByRole("definition").filter({ has: page.locator(`xpath=preceding-sibling::dt[.="${label}"]`) })
      expect(await figure("Plates read").textContent()).toBe("2")
      expect(await figure("Cameras").textContent()).toBe("2")
      expect(await figure("Searches and investigations").textContent()).toBe("3")
      const reasons = page.getByRole("table")
      expect(await reasons.getByRole("row").allTextContents()).toEqual(["ReasonSearches", "Missing person2", "Audit1"])
      await page.getByText("Scene photos: 1 year").waitFor()
      await page.getByText(/^Reads \(plate, time, place\): 2,?557 days \(about 7 years\)$/).waitFor()
      await page.getByRole("heading", { name: "What this system does not do" }).waitFor()
      // Counts only: no plate read, no camera's name.
      const text = await page.locator("main").textContent()
      expect(text).not.toContain("TRP")
      expect(text).not.toContain("Main St")
      expect(await unnamedControls(page)).toEqual([])
      await screenshot(page, `${size}-transparency`, { fullPage: true })
      expect(appErrors(errors)).toEqual([])
      await context.close()
    }
  })

  it("says the installation does not publish one when TRANSPARENCY_PAGE is off", async () => {
    const off = await startServer({ transparencyPage: false })
    try {
      const { page, context } = await openPage(browser, { url: off.url, viewport: PHONE })
      await page.goto(`${off.url}/transparency`)
      await page.getByText(/does not publish a transparency report/).waitFor()
      await context.close()
    } finally {
      await off.close()
    }
  })
})
