import { type ExportFormat, ExportParams, type PlateGroupParams, type SearchParams } from "@chaverim/domain/Search"
import * as Schema from "effect/Schema"
import { definedFields } from "../../client/fields"
import { reasonParams, type SessionReason } from "../../client/reason"
import type { SearchQuery } from "./query"

// A search as the API takes it, for the results (their own file, loaded with them: the search form
// does not need these, nor the export's schema).

const list = (value: string) => {
  const items = value.split(",").map((s) => s.trim()).filter((s) => s !== "")
  return items.length > 0 ? items : undefined
}

/** `datetime-local` values are local times; the server wants instants. */
const instant = (value: string) => (value === "" ? undefined : new Date(value))

export const PAGE_SIZE = 25

const encodeExport = Schema.encodeSync(ExportParams)

export const searchParams = (query: SearchQuery, reason: SessionReason | undefined, cursor?: string): SearchParams => ({
  plate: query.plate.trim(),
  mode: query.mode,
  limit: PAGE_SIZE,
  ...definedFields({
    from: instant(query.from),
    to: instant(query.to),
    site: list(query.site),
    direction: list(query.direction),
    vehicle_type: list(query.vehicleType),
    vehicle_color: list(query.vehicleColor),
    min_confidence: query.minConfidence === "" ? undefined : Number(query.minConfidence) / 100,
    tag: list(query.tags.toLowerCase()),
    cursor
  }),
  ...reasonParams(reason)
})

/** The search without its page: what the plates view and the exports take. */
export const wholeSearchParams = (query: SearchQuery, reason: SessionReason | undefined): PlateGroupParams => {
  const { limit: _limit, ...whole } = searchParams(query, reason)
  return whole
}

/** The address of a search's export: a plain link, so that the browser downloads the file itself. */
export const exportUrl = (query: SearchQuery, reason: SessionReason | undefined, format: ExportFormat) =>
  `/api/v1/detections/export?${new URLSearchParams(definedFields(encodeExport({ ...wholeSearchParams(query, reason), format })) as Record<string, string>)}`
