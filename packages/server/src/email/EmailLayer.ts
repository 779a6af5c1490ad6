import * as Layer from "effect/Layer"
import { OutputDeliveries } from "../outputs/Deliveries"
import { EmailRecipientsLayer } from "./Recipients"
import { EmailSenderLayer } from "./Sender"
import { SmtpSettings } from "./Settings"

/**
 * E-mail on every server: the outbox's consumer (who is owed an e-mail) and the batching sender, which
 * sends only while SMTP is configured (the environment or the admin panel) and otherwise lets owed
 * e-mail wait. Needs the database, the shared LISTEN connection (PgListener), Images, Audit and AppConfig.
 */
export const EmailLayer = Layer.merge(EmailRecipientsLayer, EmailSenderLayer).pipe(
  Layer.provide(Layer.merge(OutputDeliveries.Default, SmtpSettings.Default))
)
