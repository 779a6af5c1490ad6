import { formatDateTime } from "../../ui/format"
import { QrCode } from "../../ui/QrCode"

/**
 * What the QR code of a claim code holds: this server's address and the code, as `<origin>/claim#code=<code>`.
 * The collector's device page reads it from a photo and fills both fields (edge/src/listener/SetupScript.ts);
 * the code is in the fragment, which a browser that opens the link never sends to a server.
 */
export const claimQrText = (origin: string, code: string) => `${origin}/claim#code=${encodeURIComponent(code)}`

/**
 * A claim code as a volunteer uses it where the collector stands: scanned from this screen with a phone on the
 * collector's device page (the QR holds this server's address and the code), or typed there or with
 * `npm run edge -- claim`.
 */
export const ClaimCode = ({ name, code, expiresAt }: { readonly name: string; readonly code: string; readonly expiresAt: string }) => (
  <figure className="flex flex-wrap items-center gap-4 rounded-lg border-2 border-amber-400 bg-amber-50 p-3" data-testid="claim-code">
    <QrCode text={claimQrText(window.location.origin, code)} label={`QR code of the claim code for ${name}`} size={180} />
    <figcaption className="flex flex-col gap-1 text-slate-900">
      <span className="text-sm">Claim code for <strong>{name}</strong> (single use)</span>
      <code className="select-all font-mono text-2xl font-bold tracking-wider">{code}</code>
      <span className="text-sm text-slate-700">Valid until {formatDateTime(expiresAt)}</span>
      <span className="text-sm text-slate-700">
        On the collector's page (http://&lt;collector&gt;:8090/): scan this QR code, or type the code and {window.location.origin}.
        Or on the collector: <code className="break-all">npm run edge -- claim {code} --central {window.location.origin}</code>
      </span>
    </figcaption>
  </figure>
)
