import type * as Axe from "axe-core"
import * as Fs from "node:fs/promises"
import { createRequire } from "node:module"
import type { Page } from "playwright-core"

/** axe-core run in the page: WCAG 2.0/2.1 A and AA, and the best practices of a page's structure. */
const AXE_SOURCE = await Fs.readFile(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8")
const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
/** And axe's best practices for a page's structure: headings in order, landmarks, content inside them. */
const STRUCTURE = [
  "heading-order", "page-has-heading-one", "empty-heading", "landmark-one-main", "landmark-unique", "landmark-no-duplicate-main",
  "landmark-no-duplicate-banner", "landmark-banner-is-top-level", "landmark-main-is-top-level", "region", "skip-link"
]

export interface Found {
  readonly id: string
  readonly impact: string
  readonly help: string
  readonly nodes: ReadonlyArray<{ readonly target: string; readonly html: string; readonly summary: string }>
}

/** axe's violations, as lines someone can act on: rule, impact, what to fix, and where. */
export const describeViolations = (view: string, found: ReadonlyArray<Found>) =>
  found.map((v) =>
    `${view}: ${v.id} (${v.impact}, ${v.nodes.length}×) ${v.help}\n` +
    v.nodes.slice(0, 6).map((n) => `    at ${n.target}\n      ${n.html}\n      ${n.summary.replace(/\n\s*/g, " ")}`).join("\n") +
    (v.nodes.length > 6 ? `\n    … and ${v.nodes.length - 6} more` : "")
  ).join("\n")

/** `exclude`: selectors left out (what is not the app's, such as a map's attribution). */
export const runAxe = async (page: Page, exclude: ReadonlyArray<string> = []): Promise<ReadonlyArray<Found>> => {
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(AXE_SOURCE)
  return page.evaluate(async ({ tags, structure, exclude }) => {
    const axe = (window as unknown as { axe: typeof Axe }).axe
    const result = await axe.run(exclude.length === 0 ? document : { exclude: [...exclude] }, {
      runOnly: { type: "tag", values: tags },
      rules: Object.fromEntries(structure.map((rule) => [rule, { enabled: true }])),
      resultTypes: ["violations"]
    })
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact ?? "unknown",
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target.join(" "), html: n.html.slice(0, 200), summary: n.failureSummary ?? "" }))
    }))
  }, { tags: TAGS, structure: STRUCTURE, exclude })
}

