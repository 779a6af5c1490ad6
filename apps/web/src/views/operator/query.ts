import type { SearchMode } from "@chaverim/domain/Search"

/** The search as it stands in the address bar, so that Back and a shared link give the same search. */
export interface SearchQuery {
  readonly plate: string
  readonly mode: SearchMode
  readonly from: string
  readonly to: string
  readonly site: string
  readonly direction: string
  readonly vehicleType: string
  readonly vehicleColor: string
  readonly minConfidence: string
  /** known plates' tags, comma-separated */
  readonly tags: string
}

const MODES: ReadonlyArray<SearchMode> = ["exact", "ocr", "partial", "fuzzy"]

const FIELDS = {
  plate: "plate", mode: "mode", from: "from", to: "to", site: "site", direction: "direction",
  vehicleType: "type", vehicleColor: "color", minConfidence: "min_confidence", tags: "tag"
} as const satisfies Record<keyof SearchQuery, string>

export const emptyQuery: SearchQuery = {
  plate: "", mode: "exact", from: "", to: "", site: "", direction: "", vehicleType: "", vehicleColor: "", minConfidence: "", tags: ""
}

export const queryFromUrl = (params: URLSearchParams): SearchQuery => {
  const mode = params.get("mode") as SearchMode | null
  const read = (key: keyof SearchQuery) => params.get(FIELDS[key]) ?? ""
  return {
    plate: read("plate"), mode: mode !== null && MODES.includes(mode) ? mode : "exact",
    from: read("from"), to: read("to"), site: read("site"), direction: read("direction"),
    vehicleType: read("vehicleType"), vehicleColor: read("vehicleColor"), minConfidence: read("minConfidence"),
    tags: read("tags")
  }
}

export const queryToUrl = (query: SearchQuery) => {
  const params = new URLSearchParams()
  for (const key of Object.keys(FIELDS) as Array<keyof SearchQuery>) {
    const value = query[key].trim()
    if (value !== "" && !(key === "mode" && value === "exact")) params.set(FIELDS[key], value)
  }
  const text = params.toString()
  return text === "" ? "/" : `/?${text}`
}

export const filterCount = (query: SearchQuery) =>
  [query.from, query.to, query.site, query.direction, query.vehicleType, query.vehicleColor, query.minConfidence, query.tags]
    .filter((v) => v.trim() !== "").length

// The plate page's "Back to search" returns to the search the operator came from.
let lastSearch = "/"
export const rememberSearch = (url: string) => void (lastSearch = url)
export const lastSearchUrl = () => lastSearch
