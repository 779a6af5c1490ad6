import * as Chunk from "effect/Chunk"
import * as Stream from "effect/Stream"
import { useRpcAction, withRpc } from "../../client/rpc"
import { Button, ProblemNote } from "../../ui/controls"
import { saveFile } from "../../ui/saveFile"

const fileName = (name: string) => `${name.replace(/[^\p{L}\p{N}]+/gu, "-").replace(/^-|-$/g, "") || "watchlist"}.csv`

/** Saves the live entries as a CSV file that imports back as it is. */
export const CsvExport = ({ watchlistId, name }: { readonly watchlistId: string; readonly name: string }) => {
  const [exported, download] = useRpcAction(() =>
    withRpc((rpc) => Stream.runCollect(rpc.watchlists.exportCsv({ watchlist_id: watchlistId }))))
  return (
    <div className="flex flex-col gap-2">
      <Button variant="secondary" className="self-start" disabled={exported.state === "loading"} onClick={async () => {
        const result = await download()
        if (result.state !== "ready") return
        saveFile(Chunk.join(result.value, ""), fileName(name), "text/csv;charset=utf-8")
      }}>
        {exported.state === "loading" ? "Exporting…" : "Download as CSV"}
      </Button>
      {exported.state === "failed" && <ProblemNote problem={exported.problem} />}
    </div>
  )
}
