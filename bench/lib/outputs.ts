/**
 * The receivers of the outbound channels for benchmarks: a subscriber on the machine's Mosquitto
 * (127.0.0.1:1883) and a local HTTPS webhook receiver with a certificate of its own (made with
 * openssl, trusted by the server through WEBHOOK_CA_FILE). Each records when the first notice of
 * a raised alert for a plate arrived, and counts repeats; the receiver checks every signature.
 */
import { verifySignature } from "@chaverim/server/webhooks/Signature"
import { connectAsync } from "mqtt"
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as Fs from "node:fs"
import * as Https from "node:https"
import type { AddressInfo } from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"

export interface OutputReceivers {
  /** the server's settings that turn both outputs on */
  readonly env: Record<string, string>
  readonly webhookUrl: string
  readonly webhookSecret: string
  /** plate -> when its raised alert first arrived (ms since the epoch) */
  readonly mqtt: Map<string, number>
  readonly webhook: Map<string, number>
  readonly duplicates: { mqtt: number; webhook: number }
  readonly badSignatures: () => number
  /** forgets what arrived so far (after a warm-up) */
  readonly clear: () => void
  readonly close: () => Promise<void>
}

export const startOutputReceivers = async (platePattern: RegExp): Promise<OutputReceivers> => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "alpr-bench-outputs-"))
  const keyFile = Path.join(dir, "key.pem")
  const certFile = Path.join(dir, "cert.pem")
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyFile, "-out", certFile, "-days", "2",
    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"
  ], { stdio: "ignore" })
  const secret = randomBytes(32).toString("hex")
  const prefix = `alpr-bench-${randomBytes(4).toString("hex")}`
  const mqtt = new Map<string, number>()
  const webhook = new Map<string, number>()
  const duplicates = { mqtt: 0, webhook: 0 }
  let bad = 0

  const note = (seen: Map<string, number>, channel: "mqtt" | "webhook", text: string) => {
    const plate = platePattern.exec(text)?.[0]
    if (plate === undefined) return
    if (seen.has(plate)) duplicates[channel]++
    else seen.set(plate, Date.now())
  }

  const receiver = Https.createServer({ key: Fs.readFileSync(keyFile), cert: Fs.readFileSync(certFile) }, (req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8")
      const check = verifySignature({
        secret,
        body,
        timestamp: req.headers["x-chaverim-timestamp"] as string | undefined,
        signature: req.headers["x-chaverim-signature"] as string | undefined,
        nowSeconds: Math.floor(Date.now() / 1000)
      })
      if (!check.ok) bad++
      else if (req.headers["x-chaverim-event"] === "alert_raised") note(webhook, "webhook", body)
      res.writeHead(check.ok ? 204 : 401).end()
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve))
  const webhookUrl = `https://127.0.0.1:${(receiver.address() as AddressInfo).port}/alpr`

  const subscriber = await connectAsync("mqtt://127.0.0.1:1883", { clientId: `${prefix}-sub`, reconnectPeriod: 1_000 })
  await subscriber.subscribeAsync(`${prefix}/alert`, { qos: 1 })
  subscriber.on("message", (_topic, payload) => {
    const text = payload.toString("utf8")
    if (text.includes("\"alert_raised\"")) note(mqtt, "mqtt", text)
  })

  return {
    env: { MQTT_URL: "mqtt://127.0.0.1:1883", MQTT_TOPIC_PREFIX: prefix, WEBHOOK_CA_FILE: certFile },
    webhookUrl,
    webhookSecret: secret,
    mqtt,
    webhook,
    duplicates,
    badSignatures: () => bad,
    clear: () => {
      mqtt.clear()
      webhook.clear()
      duplicates.mqtt = 0
      duplicates.webhook = 0
    },
    close: async () => {
      await subscriber.endAsync(true)
      receiver.closeAllConnections()
      await new Promise((resolve) => receiver.close(resolve))
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}
