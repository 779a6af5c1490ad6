import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import { Audit } from "../audit/Audit"
import { watchlistAudit } from "./Audited"
import { makeEntries } from "./Entries"
import { makeImportExport } from "./ImportExport"
import { makeLists } from "./Lists"

export type { ImportOptions, ImportOutcome } from "./ImportExport"
export { type Caller, cliCaller } from "./Permissions"

/**
 * Watchlists and their entries, as people manage them (over RPC) and as the command line imports
 * them. Only the tables are written: triggers stamp each change with a revision and NOTIFY the alert
 * engine's matcher; an added entry also leaves an `alert_work` item, in the same transaction, so the
 * engine checks it against recent reads (a retro-alert). Every change is audited in its transaction.
 *
 * Who may see and change what is in Permissions.ts; the lists, their entries, and CSV in and out are
 * each in their own file (Lists.ts, Entries.ts, ImportExport.ts), assembled here.
 */
export class Watchlists extends Effect.Service<Watchlists>()("@chaverim/server/Watchlists", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const audit = watchlistAudit(yield* Audit)
    const lists = makeLists(sql, audit)
    const entries = makeEntries(sql, audit, lists)
    const csv = makeImportExport(sql, audit, lists)

    return {
      list: lists.list,
      get: lists.get,
      create: lists.create,
      update: lists.update,
      retire: lists.retire,
      entries: entries.entries,
      addEntry: entries.addEntry,
      updateEntry: entries.updateEntry,
      removeEntry: entries.removeEntry,
      importCsv: csv.importCsv,
      importByName: csv.importByName,
      exportCsv: csv.exportCsv,
      findByName: lists.findByName
    } as const
  })
}) {}
