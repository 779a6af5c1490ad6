import type { ActiveReasonCodes } from "@chaverim/domain/rpc/ReasonCodes"
import { useEffect, useState } from "react"
import type { Remote } from "./problem"

// The active codes, asked once per page load and shared by every form that offers them. The RPC
// client is loaded on demand, so that the operator's first page stays lean.
let loading: Promise<Remote<ActiveReasonCodes>> | undefined

const load = () =>
  (loading ??= import("./rpc").then(({ callRpc }) => callRpc((rpc) => rpc.reasonCodes.list())).then((remote) => {
    if (remote.state !== "ready") loading = undefined // asked again next time
    return remote
  }))

/** After the list changes (the admin screen): the next form asks the server again. */
export const forgetReasonCodes = () => void (loading = undefined)

/** The active reason codes and whether the server requires one. */
export const useReasonCodes = (): Remote<ActiveReasonCodes> => {
  const [remote, setRemote] = useState<Remote<ActiveReasonCodes>>({ state: "loading" })
  useEffect(() => {
    let live = true
    void load().then((result) => {
      if (live) setRemote(result)
    })
    return () => void (live = false)
  }, [])
  return remote
}
