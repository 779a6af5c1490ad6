import { lazy, Suspense, useState } from "react"
import { navigate, useLocation } from "../../router"
import { queryFromUrl, queryToUrl, rememberSearch } from "./query"
import { Results } from "./Results"
import { SearchForm } from "./SearchForm"

// Its own file: the live feed's client is not part of the first load.
const LatestReads = lazy(() => import("./LatestReads"))

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
      <section aria-labelledby="search-title" className="flex flex-col gap-3">
        <h1 id="search-title" className="text-xl font-bold text-slate-900" tabIndex={-1}>Search a plate</h1>
        <SearchForm key={key} initial={query} onSearch={(next) => {
          navigate(queryToUrl(next))
          setAttempt((a) => a + 1)
        }} />
      </section>
      <section aria-label="Results">
        {query.plate.trim() !== ""
          ? <Results key={`${key}|${attempt}`} query={query} focusWhenDone={attempt > 0} />
          : <Suspense><LatestReads /></Suspense>}
      </section>
    </div>
  )
}
