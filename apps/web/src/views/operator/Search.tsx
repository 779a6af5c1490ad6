import { type ComponentProps, lazy, Suspense, useEffect, useState } from "react"
import { navigate, useLocation } from "../../router"
import { Loading } from "../../ui/controls"
import { queryFromUrl, queryToUrl, rememberSearch } from "./query"
import { SearchForm } from "./SearchForm"

// Its own file: the live feed's client is not part of the first load.
const LatestReads = lazy(() => import("./LatestReads"))

// Nor are the results (their table, cards, plate groups and corrections): their file is fetched when the
// form is first used, or when the address already holds a search. Not React.lazy: a search is a
// synchronous update, in which a lazy component drawn for the first time shows its fallback, and React
// then holds the results back for 300 ms, their request with them (the first search's request left
// 320 ms after the click that way, 15 ms this way, as with the results in the first load).
type ResultsModule = typeof import("./Results")
let results: ResultsModule | undefined
let loadingResults: Promise<ResultsModule> | undefined
const loadResults = () =>
  (loadingResults ??= import("./Results").then(
    (module) => (results = module),
    (error: unknown) => {
      loadingResults = undefined // asked again by the next search
      throw error
    }))

const LazyResults = (props: ComponentProps<ResultsModule["Results"]>) => {
  const [loaded, setLoaded] = useState(results)
  const [failed, setFailed] = useState<unknown>()
  useEffect(() => {
    if (loaded !== undefined) return
    let live = true
    loadResults().then((module) => live && setLoaded(module), (error: unknown) => live && setFailed(error))
    return () => void (live = false)
  }, [loaded])
  // The file did not arrive: the page's boundary says so, with a way to load it again.
  if (failed !== undefined) throw failed
  return loaded === undefined ? <Loading label="Searching" /> : <loaded.Results {...props} />
}

/** The operator's page: a search (kept in the address) and its results. */
export const Search = () => {
  const { query: params } = useLocation()
  const query = queryFromUrl(params)
  const key = queryToUrl(query)
  rememberSearch(key)
  // Searching again for the same thing (after fixing the reason, or for new reads) runs it again.
  const [attempt, setAttempt] = useState(0)
  return (
    <div className="grid gap-6 lg:grid-cols-[22rem_1fr]">
      <section aria-labelledby="search-title" className="flex flex-col gap-3" onInput={() => void loadResults().catch(() => undefined)}>
        <h1 id="search-title" className="text-xl font-bold text-slate-900" tabIndex={-1}>Search a plate</h1>
        <SearchForm key={key} initial={query} onSearch={(next) => {
          navigate(queryToUrl(next))
          setAttempt((a) => a + 1)
        }} />
      </section>
      <section aria-label="Results">
        {query.plate.trim() !== ""
          ? <LazyResults key={`${key}|${attempt}`} query={query} focusWhenDone={attempt > 0} />
          : <Suspense><LatestReads /></Suspense>}
      </section>
    </div>
  )
}
