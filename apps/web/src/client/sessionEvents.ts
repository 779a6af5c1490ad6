const listeners = new Set<() => void>()

/** Sign-in and sign-out: connections that carry the session cookie (the RPC socket) must reopen. */
export const onSessionChanged = (listener: () => void) => {
  listeners.add(listener)
  return () => void listeners.delete(listener)
}

export const sessionChanged = () => listeners.forEach((listener) => listener())
