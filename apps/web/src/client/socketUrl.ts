/** A WebSocket URL on this server: the browser sends the session cookie with the upgrade. */
export const socketUrl = (path: string) =>
  `${window.location.protocol === "https:" ? "wss:" : "ws:"}//${window.location.host}${path}`
