import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { type Browser, type BrowserContext, type BrowserContextOptions, chromium, type Page } from "playwright-core"
import { findChromium, NOT_FOUND, realWorld } from "../scripts/chromium"

/** The Chromium `npm test` found or installed before vitest started (apps/web/scripts/ensure-chromium.ts). */
const executable = () => {
  const path = findChromium(realWorld(process.cwd()))
  if (path === undefined) throw new Error(NOT_FOUND)
  return path
}

const ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
  "--disable-sync", "--no-first-run", "--disable-quic"
]

export const PHONE = { width: 360, height: 780 } as const
/** A larger phone, as the screenshots are taken; a phone too (touch, 2x). */
export const PHONE_390 = { width: 390, height: 844 } as const
/** A laptop. */
export const DESKTOP = { width: 1440, height: 900 } as const
export const WALL = { width: 1920, height: 1080 } as const

/** Screenshots for people to look at, kept by CI as artifacts (ignored by git). */
export const ARTIFACTS = fileURLToPath(new URL("../../../artifacts/web/", import.meta.url))

/** Playwright gives every launch a fresh temporary profile (user-data-dir), removed at close. */
export const launch = (): Promise<Browser> => chromium.launch({ executablePath: executable(), args: ARGS, headless: true })

export interface Watched {
  readonly page: Page
  /** console errors and page errors, CSP violations included */
  readonly errors: Array<string>
  /** every script the page requested, by path */
  readonly scripts: Array<string>
}

/** A page in its own context (cookies, storage, service worker), recording errors and scripts. */
export const openPage = async (
  browser: Browser,
  options: {
    readonly viewport?: { width: number; height: number }
    readonly cookie?: string
    readonly url: string
    /** more of the context's settings: a time zone and locale, service workers blocked, … */
    readonly context?: BrowserContextOptions
  }
): Promise<Watched & { readonly context: BrowserContext }> => {
  const context = await browser.newContext({
    ...options.context,
    viewport: options.viewport ?? PHONE,
    ...(options.viewport === undefined || options.viewport === PHONE || options.viewport === PHONE_390
      ? { isMobile: true, hasTouch: true, deviceScaleFactor: 2 }
      : {})
  })
  if (options.cookie !== undefined) {
    const [name, value] = options.cookie.split("=", 2) as [string, string]
    await context.addCookies([{ name, value, url: options.url }])
  }
  const page = await context.newPage()
  const errors: Array<string> = []
  const scripts: Array<string> = []
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text())
  })
  page.on("pageerror", (error) => errors.push(String(error)))
  page.on("request", (request) => {
    if (request.resourceType() === "script") scripts.push(new URL(request.url()).pathname)
  })
  return { context, page, errors, scripts }
}

export const screenshot = async (page: Page, name: string, options: { readonly fullPage?: boolean } = {}) => {
  await Fs.mkdir(ARTIFACTS, { recursive: true })
  const path = Path.join(ARTIFACTS, `${name}.png`)
  await page.screenshot({ path, fullPage: options.fullPage ?? false, animations: "disabled" })
  return path
}

/** Errors that are not the app's: images or tiles the test deliberately does not have. */
export const appErrors = (errors: ReadonlyArray<string>) =>
  errors.filter((e) => !/Failed to load resource/.test(e))

/**
 * Form controls without an accessible name (no label, aria-label or aria-labelledby), and buttons
 * and links without text: what a screen reader would announce as "edit text" or "button".
 */
export const unnamedControls = (page: Page) =>
  page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLElement>("input:not([type=hidden]), select, textarea, button, a[href]"))
      .filter((el) => {
        const labelled = (el as HTMLInputElement).labels?.length || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby")
        const named = el.tagName === "BUTTON" || el.tagName === "A" ? el.textContent?.trim() || labelled : labelled
        return !named && !el.closest(".leaflet-container")
      })
      .map((el) => el.outerHTML.slice(0, 120)))
