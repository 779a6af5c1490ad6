import type { Browser } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type SignedIn, startServer, type TestServer } from "../../server/test/harness"
import { launch, openPage, WALL } from "./browser"

let server: TestServer
let browser: Browser
let operator: SignedIn

beforeAll(async () => {
  process.env.MAP_TILE_URL = "none"
  ;[server, browser] = await Promise.all([startServer(), launch()])
  operator = await server.signIn("operator")
})

afterAll(async () => {
  await browser?.close()
  await server?.close()
  delete process.env.MAP_TILE_URL
})

describe("a page whose code does not arrive", () => {
  it("says so with a way to load it again, instead of a blank screen, and the other pages still work", async () => {
    // With no service worker: requests a worker answers would pass the test's interception by.
    const { page, context } = await openPage(browser, { url: server.url, cookie: operator.cookie, viewport: WALL, context: { serviceWorkers: "block" } })
    await page.goto(server.url)
    await page.getByRole("heading", { name: "Search a plate" }).waitFor()
    // The alerts page's file is gone (the server was upgraded while this tab was open).
    await page.route(/\/assets\/Alerts-[^/]*\.js$/, (route) => route.fulfill({ status: 404, body: "" }))
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Alerts" }).click()
    const notice = page.getByRole("alert").filter({ hasText: "This page could not be loaded" })
    await notice.waitFor()
    expect(await notice.getByRole("button", { name: "Load the page again" }).count()).toBe(1)
    // the menu is still there, and another page opens
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Search" }).click()
    await page.getByRole("heading", { name: "Search a plate" }).waitFor()
    expect(await notice.count()).toBe(0)
    // with the file back, loading again opens the page
    await page.unroute(/\/assets\/Alerts-[^/]*\.js$/)
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Alerts" }).click()
    await notice.waitFor()
    await notice.getByRole("button", { name: "Load the page again" }).click()
    await page.getByRole("heading", { name: "Alerts", level: 1 }).waitFor()
    await context.close()
  })
})
