import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as MetricKeyType from "effect/MetricKeyType"
import type * as MetricPair from "effect/MetricPair"
import * as MetricState from "effect/MetricState"

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, "\\\"")

const labels = (tags: ReadonlyArray<{ key: string; value: string }>, extra?: [string, string]) => {
  const all = tags.map((t) => [t.key, t.value] as [string, string])
  if (extra) all.push(extra)
  return all.length === 0 ? "" : `{${all.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`
}

const num = (v: number | bigint) =>
  typeof v === "bigint" ? v.toString() : Number.isFinite(v) ? String(v) : v > 0 ? "+Inf" : v < 0 ? "-Inf" : "NaN"

/** Renders Effect's metric registry in the Prometheus text exposition format (version 0.0.4). */
export const renderPrometheus = (pairs: ReadonlyArray<MetricPair.MetricPair.Untyped>): string => {
  const byName = new Map<string, Array<MetricPair.MetricPair.Untyped>>()
  for (const pair of pairs) {
    const list = byName.get(pair.metricKey.name) ?? []
    list.push(pair)
    byName.set(pair.metricKey.name, list)
  }
  const out: Array<string> = []
  for (const [name, series] of [...byName].sort(([a], [b]) => a.localeCompare(b))) {
    const key = series[0]!.metricKey
    const type = MetricKeyType.isCounterKey(key.keyType) ? "counter"
      : MetricKeyType.isGaugeKey(key.keyType) ? "gauge"
      : MetricKeyType.isHistogramKey(key.keyType) ? "histogram"
      : undefined
    if (type === undefined) continue
    if (key.description._tag === "Some") out.push(`# HELP ${name} ${key.description.value.replace(/\n/g, " ")}`)
    out.push(`# TYPE ${name} ${type}`)
    for (const { metricKey, metricState } of series) {
      const tags = metricKey.tags
      if (MetricState.isCounterState(metricState)) out.push(`${name}${labels(tags)} ${num(metricState.count)}`)
      else if (MetricState.isGaugeState(metricState)) out.push(`${name}${labels(tags)} ${num(metricState.value)}`)
      else if (MetricState.isHistogramState(metricState)) {
        for (const [bound, count] of metricState.buckets) {
          out.push(`${name}_bucket${labels(tags, ["le", num(bound)])} ${count}`)
        }
        out.push(`${name}_sum${labels(tags)} ${num(metricState.sum)}`)
        out.push(`${name}_count${labels(tags)} ${metricState.count}`)
      }
    }
  }
  return out.join("\n") + "\n"
}

export const prometheusText = Effect.map(Metric.snapshot, renderPrometheus)
