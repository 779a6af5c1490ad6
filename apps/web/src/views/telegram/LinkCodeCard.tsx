import { botLink, type LinkCode } from "@chaverim/domain/Telegram"
import { QrCode } from "../../ui/QrCode"
import { formatDateTime } from "../../ui/format"

/** Without the bot's name (TELEGRAM_BOT_USERNAME unset): the person finds the bot and types the code. */
const ByHand = ({ code, done }: { readonly code: LinkCode; readonly done: string }) => (
  <ol className="mt-2 list-decimal pl-5 text-slate-900">
    <li>Open the organisation's ALPR bot in Telegram (ask an admin for its name).</li>
    <li>Send it <code className="select-all rounded bg-white px-1 font-mono">/start {code.code}</code>, or the code alone.</li>
    <li>{done}</li>
  </ol>
)

/** With the bot's name: one tap on the phone, or the QR code scanned from a desk. */
const ByLink = ({ code, bot, done }: { readonly code: LinkCode; readonly bot: string; readonly done: string }) => {
  const link = botLink(bot, code.code)
  return (
    <div className="mt-2 flex flex-col gap-2 text-slate-900">
      <ol className="list-decimal pl-5">
        <li>
          <a href={link} target="_blank" rel="noopener noreferrer" className="font-semibold text-sky-800 underline">
            Open @{bot} in Telegram
          </a>{" "}
          and press <strong>Start</strong>; on a computer, scan the QR code with the phone instead.
        </li>
        <li>
          Or send @{bot} <code className="select-all rounded bg-white px-1 font-mono">/start {code.code}</code>, or the code alone.
        </li>
        <li>{done}</li>
      </ol>
      <QrCode text={link} label={`QR code of the link to @${bot} with ${code.username}'s code`} size={160} />
    </div>
  )
}

/**
 * A Telegram link code and what to do with it: the bot links the chat it is sent from to the code's
 * account. `forOther`: an admin made it for someone else (Admin > Users), to hand over.
 */
export const LinkCodeCard = ({ code, forOther = false }: { readonly code: LinkCode; readonly forOther?: boolean }) => {
  const done = forOther
    ? `The bot answers that the chat is linked to ${code.username}.`
    : "The bot answers that the chat is linked; this page then shows it."
  return (
    <div className="rounded-lg border-2 border-amber-400 bg-amber-50 p-3" data-testid="link-code">
      <p className="text-sm text-amber-950">
        {forOther ? `Link code for ${code.username}` : "Your link code"} (single use, valid until {formatDateTime(code.expires_at)})
      </p>
      <code className="mt-1 block select-all font-mono text-3xl font-bold tracking-widest text-slate-900">{code.code}</code>
      {code.bot_username === null
        ? <ByHand code={code} done={done} />
        : <ByLink code={code} bot={code.bot_username} done={done} />}
      <p className="mt-2 text-sm text-slate-800">
        Only the newest code works. {forOther ? "Give it to them alone" : "Never share it"}: it links whoever sends it.
      </p>
    </div>
  )
}
