import type { Browser, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type SignedIn, startServer, type TestServer } from "../../server/test/harness"
import { appErrors, launch, openPage, PHONE, screenshot, unnamedControls, WALL } from "./browser"
import { rpcAs, rpcUrlOf } from "../../server/test/rpcClient"
import { CAMERAS, ingest, readAt } from "./fixtures"

let server: TestServer
let browser: Browser
let operator: SignedIn

const RESIDENT = "KNW-100"
const VISITOR = "KNW-101"

/** Screenshots as CI keeps them (artifacts/web). */
const shoot = (page: Page, name: string, width: number) => screenshot(page, `${name}-${width}`, { fullPage: true })

beforeAll(async () => {
  ;[server, browser] = await Promise.all([startServer(), launch()])
  operator = await server.signIn("operator")
  const { apiKey } = await server.collector("Main St")
  await ingest(server, apiKey, [
    readAt(RESIDENT, CAMERAS[0], 30),
    readAt(RESIDENT, CAMERAS[1], 20),
    readAt(VISITOR, CAMERAS[0], 25),
    readAt(VISITOR, CAMERAS[2], 10)
  ])
})

afterAll(async () => {
  await browser?.close()
  await server?.close()
})

const searchPartial = async (page: Page, plate: string, tags?: string) => {
  await page.getByLabel("Plate", { exact: true }).fill(plate)
  await page.getByText("Partial", { exact: true }).click()
  if (tags !== undefined) {
    const filters = page.locator("details").filter({ has: page.getByText(/^Filters/) })
    if (await filters.getAttribute("open") === null) await filters.locator("summary").click()
    await page.getByLabel("Tags", { exact: true }).fill(tags)
  }
  await page.getByLabel("Reason", { exact: true }).selectOption("investigation")
  await page.getByRole("button", { name: "Search", exact: true }).click()
  // a partial search shows the plates it matched first; the reads are a choice away
  await page.getByRole("group", { name: "Show" }).getByRole("button", { name: "Reads", exact: true }).click()
  await page.getByRole("status").filter({ hasText: /reads?,|No reads/ }).waitFor()
}

const platesShown = (page: Page) =>
  page.getByRole("article").evaluateAll((cards) => cards.map((card) => card.getAttribute("aria-label")!.replace("Read of ", "")).sort())

describe("known plates in the web app", () => {
  it("an operator notes and tags a plate on its page; the search shows and filters by the tag; the history keeps the earlier version", async () => {
    const { page, errors, context } = await openPage(browser, { url: server.url, cookie: operator.cookie })
    await page.goto(`${server.url}/plate/${RESIDENT}`)
    const notes = page.getByRole("region", { name: "Notes and tags" })
    await notes.getByText("No note and no tags for this plate.").waitFor()

    await notes.getByRole("button", { name: "Add a note or tags" }).click()
    await notes.getByLabel("Note", { exact: true }).fill("resident's car")
    await notes.getByLabel("Add a tag").fill("Resident")
    await notes.getByLabel("Add a tag").press("Enter")
    await notes.getByRole("button", { name: "Remove tag resident" }).waitFor()
    expect(await unnamedControls(page)).toEqual([])
    await notes.getByRole("button", { name: "Save", exact: true }).click()
    await notes.getByText("Saved.").waitFor()
    await expect(notes.textContent()).resolves.toContain("resident's car")
    // the header shows the tag too, from the same lookup the search's cards use
    await page.getByLabel(/^Known plate: tagged resident; note: resident's car$/).waitFor()

    // an edit: the earlier version stays in the history
    await notes.getByRole("button", { name: "Edit note and tags" }).click()
    await notes.getByLabel("Note", { exact: true }).fill("resident's car, blue Golf, flat 4")
    await notes.getByRole("button", { name: "Save", exact: true }).click()
    await notes.getByText("resident's car, blue Golf, flat 4").first().waitFor()
    await notes.getByText("History (2 versions)").click()
    const history = notes.getByRole("list", { name: "Earlier versions" }).getByRole("listitem")
    expect(await history.count()).toBe(2)
    await expect(history.nth(0).textContent()).resolves.toContain("resident's car, blue Golf, flat 4")
    await expect(history.nth(1).textContent()).resolves.toContain("“resident's car”")
    await expect(history.nth(1).textContent()).resolves.toContain(`${operator.username} · version 1`)
    await shoot(page, "known-plates-plate-page", PHONE.width)

    // the search: the tag on the resident's cards, none on the visitor's
    await page.goto(server.url)
    await searchPartial(page, "KNW-10*")
    expect(await platesShown(page)).toEqual([RESIDENT, RESIDENT, VISITOR, VISITOR])
    const resident = page.getByRole("article", { name: `Read of ${RESIDENT}` }).first()
    await resident.getByText("resident", { exact: true }).waitFor()
    expect(await page.getByRole("article", { name: `Read of ${VISITOR}` }).first().getByText("resident", { exact: true }).count()).toBe(0)
    await shoot(page, "known-plates-results", PHONE.width)

    // the tag filter narrows the results to the tagged plate's reads
    await searchPartial(page, "KNW-10*", "resident")
    expect(await platesShown(page)).toEqual([RESIDENT, RESIDENT])
    expect(page.url()).toContain("tag=resident")
    await searchPartial(page, "KNW-10*", "staff")
    expect(await page.getByRole("article").count()).toBe(0)
    expect(appErrors(errors)).toEqual([])
    await context.close()
  })

  it("lists the known plates by tag on a wide screen", async () => {
    await rpcAs(rpcUrlOf(server), operator.cookie, (client) =>
      client.knownPlates.set({ plate: VISITOR, note: "cleaner, Tuesdays", tags: ["staff", "visitor"] }))
    const { page, errors, context } = await openPage(browser, { url: server.url, cookie: operator.cookie, viewport: WALL })
    await page.goto(`${server.url}/known`)
    const list = page.getByRole("list", { name: "Known plates" })
    await list.getByText("KNW101").waitFor()
    await page.getByLabel("Tag", { exact: true }).selectOption("staff")
    await page.waitForURL(/\/known\?tag=staff$/)
    await page.getByRole("listitem").filter({ hasText: "KNW100" }).waitFor({ state: "detached" })
    // The filtered list, once it is drawn (it is empty while the filtered page loads).
    await list.getByText("cleaner, Tuesdays").waitFor()
    await shoot(page, "known-plates-list", WALL.width)
    await page.goto(`${server.url}/plate/${RESIDENT}`)
    await page.getByRole("region", { name: "Notes and tags" }).getByText("resident's car, blue Golf, flat 4").first().waitFor()
    await page.getByRole("region", { name: "Notes and tags" }).getByText("History (2 versions)").click()
    await shoot(page, "known-plates-plate-page", WALL.width)
    expect(appErrors(errors)).toEqual([])
    await context.close()
  })
})
