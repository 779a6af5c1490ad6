import type { SearchSuggestions } from "@chaverim/domain/Search"
import { useEffect, useState } from "react"
import { runOperatorApi, withOperatorApi } from "../../client/operatorApi"
import { fromExit } from "../../client/problem"

const none: SearchSuggestions = { sites: [], directions: [], vehicle_types: [], vehicle_colors: [] }

// Asked once per page load and shared by every search form; the server keeps them a few minutes too.
let loading: Promise<SearchSuggestions> | undefined

const load = () =>
  (loading ??= runOperatorApi(withOperatorApi((api) => api.search.suggestions())).then((exit) => {
    const remote = fromExit(exit)
    if (remote.state === "ready") return remote.value
    loading = undefined // asked again next time; the fields work without suggestions
    return none
  }))

/** The values the filters' fields suggest (sites, directions, vehicle types and colours); none until they come. */
export const useSuggestions = (): SearchSuggestions => {
  const [values, setValues] = useState(none)
  useEffect(() => {
    let live = true
    void load().then((loaded) => {
      if (live) setValues(loaded)
    })
    return () => void (live = false)
  }, [])
  return values
}

/**
 * The options of a field that takes several values separated by commas: each value after what is
 * typed up to the last comma, so that the browser's list goes on suggesting for the next value.
 * Values already in the field are left out.
 */
export const optionsAfterComma = (typed: string, values: ReadonlyArray<string>) => {
  const cut = typed.lastIndexOf(",")
  const before = cut < 0 ? "" : `${typed.slice(0, cut + 1).trimEnd()} `
  const chosen = new Set(typed.slice(0, Math.max(cut, 0)).split(",").map((v) => v.trim().toLowerCase()).filter((v) => v !== ""))
  return values.filter((v) => !chosen.has(v.toLowerCase())).map((v) => `${before}${v}`)
}
