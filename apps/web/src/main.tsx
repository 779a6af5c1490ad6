import { StrictMode } from "react"
import { createRoot } from "react-dom/client"
import { App } from "./App"
import { SessionProvider } from "./client/session"
import "./index.css"

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <SessionProvider>
      <App />
    </SessionProvider>
  </StrictMode>
)

// The shell (this page and its scripts) stays available offline; see public/sw.js.
if (import.meta.env.PROD && "serviceWorker" in navigator) {
  window.addEventListener("load", () => void navigator.serviceWorker.register("/sw.js").catch(() => undefined))
}
