import type pg from "pg"

/**
 * One read of `plate` at one camera of one collector, and a watchlist: what an alert row needs to
 * exist, written straight into a migrated test database.
 */
export const seedAlertable = async (db: pg.Client, plate: string) => {
  const { rows: [collector] } = await db.query("INSERT INTO collectors (name) VALUES ('c') RETURNING id")
  const { rows: [camera] } = await db.query(
    "INSERT INTO cameras (collector_id, external_id, mac) VALUES ($1, 'cam', 'm') RETURNING id",
    [collector.id]
  )
  const { rows: [read] } = await db.query(
    `INSERT INTO detections (collector_id, detection_id, camera_id, detected_at, plate_text, plate, plate_ocr, confidence, raw)
     VALUES ($1, 'd1', $2, now(), $3, $3, $3, 0.9, '{}') RETURNING id`,
    [collector.id, camera.id, plate]
  )
  const { rows: [list] } = await db.query("INSERT INTO watchlists (name, category) VALUES ('l', 'stolen') RETURNING id")
  return { readId: String(read.id), listId: String(list.id) }
}
