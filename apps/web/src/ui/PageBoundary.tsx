import { Component, type ReactNode } from "react"
import { Button } from "./controls"

/**
 * A page that fails to load or draw (its code gone after an upgrade of the server, a network cut while
 * its file loads, a bug) says so, on a light or dark page, with a way to load it again, instead of
 * leaving the screen blank. `resetKey` (the route) clears it when the user goes elsewhere.
 */
interface Props {
  readonly children: ReactNode
  readonly resetKey: string
  readonly dark?: boolean
}

export class PageBoundary extends Component<Props, { readonly failed: string | undefined }> {
  override state: { readonly failed: string | undefined } = { failed: undefined }

  static getDerivedStateFromError(error: unknown) {
    return { failed: error instanceof Error ? error.message : String(error) }
  }

  override componentDidUpdate(previous: Props) {
    if (previous.resetKey !== this.props.resetKey && this.state.failed !== undefined) this.setState({ failed: undefined })
  }

  override render() {
    const { failed } = this.state
    if (failed === undefined) return this.props.children
    const chunk = /dynamically imported module|Importing a module script failed|Loading chunk/i.test(failed)
    return (
      <div role="alert" className={`mx-auto max-w-xl p-6 ${this.props.dark ? "text-slate-100" : "text-slate-900"}`}>
        <h1 className="text-xl font-bold" tabIndex={-1}>This page could not be {chunk ? "loaded" : "shown"}</h1>
        <p className={`mt-2 ${this.props.dark ? "text-slate-300" : "text-slate-700"}`}>
          {chunk
            ? "Its code did not arrive: the server may have been upgraded, or the connection dropped. Loading it again usually helps."
            : "Something went wrong while drawing it. Loading it again may help; if it does not, tell an administrator."}
        </p>
        <Button className="mt-4" onClick={() => window.location.reload()}>Load the page again</Button>
      </div>
    )
  }
}
