import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"

export const ingestDetections = Metric.counter("alpr_ingest_detections_total", {
  description: "Detections received, by outcome (accepted, duplicate, rejected)",
  incremental: true
})

export const ingestBatches = Metric.counter("alpr_ingest_batches_total", {
  description: "Batch requests answered, by outcome",
  incremental: true
})

export const ingestBatchSeconds = Metric.histogram(
  "alpr_ingest_batch_duration_seconds",
  MetricBoundaries.fromIterable([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]),
  "Time to store one batch, from admission to commit"
)

export const ingestImageBytes = Metric.counter("alpr_ingest_image_bytes_total", {
  description: "Bytes of evidence images stored",
  incremental: true
})

export const ingestBackpressure = Metric.gauge("alpr_ingest_backpressure", {
  description: "Ingest pressure reported to collectors in X-Backpressure (0..1)"
})

export const ingestQueueDepth = Metric.gauge("alpr_ingest_queue_depth", {
  description: "Batches waiting for an ingest slot"
})

export const ingestInflight = Metric.gauge("alpr_ingest_inflight_batches", {
  description: "Batches being stored now"
})
