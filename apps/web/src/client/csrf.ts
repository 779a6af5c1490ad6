import { CSRF_HEADER } from "@chaverim/domain/Accounts"

// The session's CSRF token (from sign-in or /auth/me), sent with every request by both clients of the
// HTTP API (client/operatorApi.ts and client/api.ts): the server checks it on state-changing ones. The
// session cookie itself is HttpOnly and travels on its own.
let csrfToken: string | undefined

export const setCsrfToken = (token: string | undefined) => {
  csrfToken = token
}

/** The headers of a request to the API: the CSRF token, once there is a session. */
export const csrfHeaders = (): Readonly<Record<string, string>> =>
  csrfToken === undefined ? {} : { [CSRF_HEADER]: csrfToken }
