import type { Browser } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type SignedIn, startServer, type TestServer } from "../../server/test/harness"
import { describeViolations, runAxe } from "./axe"
import { appErrors, DESKTOP, launch, openPage, PHONE_390, screenshot, unnamedControls } from "./browser"
import { CAMERAS, ingest, readAt } from "./fixtures"

let server: TestServer
let browser: Browser
let operator: SignedIn

beforeAll(async () => {
  ;[server, browser] = await Promise.all([startServer(), launch()])
  operator = await server.signIn("operator")
  const { apiKey } = await server.collector("Stats box")
  const reads = [
    readAt("STA1001", CAMERAS[0], 60 * 30),
    readAt("STA1002", CAMERAS[0], 60 * 50),
    readAt("STA1001", CAMERAS[1], 60 * 30 + 5),
    { ...readAt("STA1003", CAMERAS[2], 60 * 75), plate: { text: "STA1003", confidence: 0.42 } }
  ]
  await ingest(server, apiKey, reads)
  const { rows } = await server.db.query<{ id: string }>("SELECT id::text AS id FROM detections WHERE plate = 'STA1002'")
  const corrected = await fetch(`${server.url}/api/v1/detections/${rows[0]!.id}/corrections`, {
    method: "POST",
    headers: { "content-type": "application/json", cookie: operator.cookie, "x-csrf-token": operator.csrf },
    body: JSON.stringify({ action: "correct", plate: "STA1OO2" })
  })
  expect(corrected.status).toBe(201)
})

afterAll(async () => {
  await browser?.close()
  await server?.close()
})

describe("the statistics page", () => {
  it("shows the week's reads per camera, the figures, accuracy and the characters confused; narrows to a camera", async () => {
    for (const [name, viewport] of [["390", PHONE_390], ["1440", DESKTOP]] as const) {
      const { page, context, errors } = await openPage(browser, { url: server.url, cookie: operator.cookie, viewport })
      await page.goto(`${server.url}/stats`)
      await page.getByRole("heading", { name: "Statistics" }).waitFor()
      await page.getByRole("img", { name: /^Reads per day, stacked by camera/ }).waitFor()
      const figure = (label: string) => page.locator("div", { has: page.getByText(label, { exact: true }) }).last()
      await figure("reads").getByText("4", { exact: true }).waitFor()
      await figure("different plates").getByText("3", { exact: true }).waitFor()
      await figure("low-confidence reads").getByText("25%").waitFor()
      const accuracy = page.getByRole("table", { name: "Accuracy by camera, from people's checks" })
      await accuracy.getByRole("row", { name: /Main St northbound 2 1 1 0 100%/ }).waitFor()
      const confused = page.getByRole("table", { name: /Characters the cameras confuse/ })
      await confused.getByRole("row", { name: "0 O 2" }).waitFor()
      await screenshot(page, `stats-${name}`, { fullPage: true })
      expect(await unnamedControls(page)).toEqual([])
      expect(describeViolations(`stats-${name}`, await runAxe(page))).toBe("")
      if (name === "1440") {
        await page.getByLabel("Camera", { exact: true }).selectOption({ label: "College Rd" })
        await figure("reads").getByText("1", { exact: true }).waitFor()
        await figure("low-confidence reads").getByText("100%").waitFor()
      }
      expect(appErrors(errors)).toEqual([])
      await context.close()
    }
  })

  it("is not a viewer's: they go to the alerts", async () => {
    const viewer = await server.signIn("viewer")
    const { page, context } = await openPage(browser, { url: server.url, cookie: viewer.cookie })
    await page.goto(`${server.url}/stats`)
    await page.waitForURL(/\/alerts$/)
    await context.close()
  })
})
