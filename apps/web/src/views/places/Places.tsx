import { BadRequest } from "@chaverim/domain/Errors"
import type { MultiPlaceRequest } from "@chaverim/domain/Investigation"
import * as Effect from "effect/Effect"
import { useRef, useState } from "react"
import { withApi } from "../../client/api"
import { valueOf } from "../../client/problem"
import { noReason, savedReason, saveReason } from "../../client/reason"
import { useRpc, withRpc } from "../../client/rpc"
import { useApiAction } from "../../client/useApi"
import { Button, Loading, ProblemNote } from "../../ui/controls"
import { ReasonFields } from "../operator/ReasonFields"
import { contractRefusal, type Incident, newIncident, PLACES_MAX, refusalText, requestOf } from "./incident"
import { IncidentCard } from "./IncidentCard"
import { PlacesResults } from "./PlacesResults"

/**
 * "Which plates were at all of these places?": two to ten incidents, each a place and a time, and the
 * plates read at every one of them with the reads that put them there (the multi-place investigation,
 * audited with the reason given).
 */
const Places = () => {
  // The placed cameras, as the wall knows them (operators may not list every camera).
  const [status] = useRpc(() => withRpc((rpc) => rpc.wall.status({ since: new Date().toISOString() })), [])
  const cameras = valueOf(status)?.cameras ?? []
  const keys = useRef(2)
  const [incidents, setIncidents] = useState<ReadonlyArray<Incident>>(() => [newIncident(1), newIncident(2)])
  const [reason, setReason] = useState(() => savedReason() ?? noReason)
  const [found, run] = useApiAction((request: MultiPlaceRequest) =>
    withApi((api) => api.investigation.multiPlace({ payload: request })).pipe(
      // A request the contract refuses is never sent: its rules' messages, as the server would give them.
      Effect.catchTag("ParseError", (error) => Effect.fail(new BadRequest({ message: contractRefusal(error) }))),
      Effect.map((result) => ({ result, incidents: request.places.length }))
    ))
  const shown = valueOf(found)

  const change = (next: Incident) => setIncidents((all) => all.map((i) => (i.key === next.key ? next : i)))
  const remove = (key: number) => setIncidents((all) => all.filter((i) => i.key !== key))
  const add = () => setIncidents((all) => [...all, newIncident(++keys.current)])

  return (
    <div className="flex flex-col gap-4">
      <div>
        <h1 className="text-xl font-bold text-slate-900" tabIndex={-1}>Which plates were at all of these places?</h1>
        <p className="mt-1 max-w-3xl text-slate-700">
          Describe two to ten incidents, each a place (cameras, a site, or a point on the map with a radius) and the
          time it happened. Every plate read at all of them is listed with the reads that put it there.
        </p>
      </div>
      {status.state === "failed" && <ProblemNote problem={status.problem} />}
      {status.state === "loading" && cameras.length === 0 && <Loading label="Loading the cameras" />}
      <form aria-label="Incidents" className="flex flex-col gap-4"
        onSubmit={(event) => {
          event.preventDefault()
          saveReason(reason)
          void run(requestOf(incidents, cameras, reason))
        }}>
        <div className="grid gap-4 lg:grid-cols-2">
          {incidents.map((incident, index) => (
            <IncidentCard key={incident.key} incident={incident} number={index + 1} cameras={cameras} onChange={change}
              onRemove={incidents.length > 1 ? () => remove(incident.key) : undefined} />
          ))}
        </div>
        <Button variant="secondary" className="self-start" onClick={add} disabled={incidents.length >= PLACES_MAX}>
          Add an incident
        </Button>
        <div className="grid max-w-3xl gap-3 sm:grid-cols-3">
          <ReasonFields value={reason} onChange={setReason} doing="this investigation" />
        </div>
        <Button type="submit" className="self-start text-lg" disabled={found.state === "loading"}>
          Find the plates
        </Button>
      </form>
      {found.state === "failed" && <ProblemNote problem={{ ...found.problem, message: refusalText(found.problem.message) }} />}
      {found.state === "loading" && <Loading label="Looking at every read of every place" />}
      {shown !== undefined && found.state !== "loading" && <PlacesResults result={shown.result} incidents={shown.incidents} />}
    </div>
  )
}

export default Places
