import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Fs from "node:fs"
import { VENDORS } from "../src/adapters/CameraRead"
import { parseAlertParts, parsePlates, platePicturePath, platesPath, platesQuery } from "../src/adapters/hikvision"
import {
  accepted,
  base64,
  detections,
  fakeJpeg,
  fixture,
  fixtureText,
  formData,
  HIKVISION_ANPR_DETECTION,
  imagesOf,
  json,
  onlyDetection,
  parse,
  refusal,
  utf8
} from "./cameras"

const HIK_ALERT = "hikvision/parkpow_hikvision_lpr_anpr.xml"
const HIK_PLATES_1 = "hikvision/nodered_hikvision_ultimate_plates_response_xml1.xml"
const HIK_PLATES_2 = "hikvision/nodered_hikvision_ultimate_plates_response_xml2.xml"
const HIK_NOTES = "hikvision/naveenrobo_vehicleDetect_plates_request_response.txt"
const UNIFI_TRACK = "unifi/uiprotect_sample_event_smart_track_licensePlate.json"
const AXIS = "axis/parkpow_axis_lpr_fflprapp_event.json"
const GENETEC = "genetec/parkpow_snapshot-middleware_Genetec.json"
const SURVISION = "survision/parkpow_snapshot-middleware_Survision.json"
const PR_SNAPSHOT = "platerecognizer/parkpow_SurvisionSnapshot_snapshot_api_response.json"
const PR_SNAPSHOT_EMPTY = "platerecognizer/parkpow_GenetecSnapshot_snapshot_api_response_no_results.json"

const alertXml = () => fixtureText(HIK_ALERT)
const jsonFixture = (name: string): Record<string, any> => JSON.parse(fixtureText(name))

/** The realistic Alarm Manager webhook of UniFi Protect (no sample published; shape as Protect 5/6 posts it). */
const unifiWebhook = (trigger: Record<string, unknown> = {}, alarm: Record<string, unknown> = {}) => ({
  alarm: {
    name: "Gate LPR",
    sources: [{ device: "937A6EA0A219", type: "include" }],
    conditions: [
      { condition: { type: "is", source: "license_plate_unknown" } },
      { condition: { type: "is", source: "license_plate_known" } },
      { condition: { type: "is", source: "license_plate_of_interest" } }
    ],
    triggers: [{
      device: "937A6EA0A219",
      value: "ABC123",
      key: "license_plate_unknown",
      group: { name: "ABC123" },
      zones: { loiter: [], line: [], zone: [1] },
      eventId: "682ce2a70121d403e4026989",
      timestamp: 1747821287999,
      ...trigger
    }],
    eventPath: "/protect/events/event/682ce2a70121d403e4026989",
    eventLocalLink: "https://192.168.1.1/protect/events/event/682ce2a70121d403e4026989",
    thumbnail: `data:image/jpeg;base64,${base64(fakeJpeg(2048))}`,
    ...alarm
  },
  timestamp: 1747821289018
})

// ---------------------------------------------------------------------------------------------

describe("Hikvision", () => {
  const expected = HIKVISION_ANPR_DETECTION

  it("reads the ANPR alert XML (confidenceLevel 0-100, direction reverse, device GPS in DMS)", () => {
    expect(onlyDetection(parse("hikvision", fixture(HIK_ALERT)))).toEqual(expected)
  })

  it("reads the multipart push with its plate and scene pictures", async () => {
    const push = await formData([
      { name: "anpr.xml", type: "application/xml", body: fixture(HIK_ALERT) },
      { name: "licensePlatePicture.jpg", type: "image/jpeg", body: fakeJpeg(3_210) },
      { name: "detectionPicture.jpg", type: "image/jpeg", body: fakeJpeg(98_765) }
    ])
    const parsed = accepted(parse("hikvision", push.body, {}, push.contentType))
    expect(parsed.reads.map((r) => r.detection)).toEqual([expected])
    expect(imagesOf(parsed.reads[0])).toEqual([
      { kind: "plate", contentType: "image/jpeg", size: 3_210 },
      { kind: "scene", contentType: "image/jpeg", size: 98_765 }
    ])
  })

  it("reads a push saved to a file, without its Content-Type, from its boundary line", async () => {
    const push = await formData([
      { name: "anpr.xml", type: "application/xml", body: fixture(HIK_ALERT) },
      { name: "licensePlatePicture.jpg", type: "image/jpeg", body: fakeJpeg(1_000) }
    ])
    const parsed = accepted(parse("hikvision", push.body))
    expect(parsed.reads[0]?.detection.plate).toEqual({ text: "PECT600", confidence: 0.97 })
    expect(imagesOf(parsed.reads[0])).toEqual([{ kind: "plate", contentType: "image/jpeg", size: 1_000 }])
  })

  it("reads one alertStream part set (XML and JPEG parts), and skips events of other types", () => {
    const parts = [
      { name: "anpr.xml", filename: "anpr.xml", contentType: "application/xml", bytes: fixture(HIK_ALERT) },
      { name: "licensePlatePicture.jpg", filename: "licensePlatePicture.jpg", contentType: "image/jpeg", bytes: fakeJpeg(512) }
    ]
    const parsed = accepted(parseAlertParts(parts, { cameraId: "gate-1", cameraName: "Main gate" }))
    expect(parsed.reads[0]?.detection.camera).toEqual({ id: "gate-1", mac: "D4:E8:53:BC:4C:02", name: "Main gate" })
    expect(imagesOf(parsed.reads[0])).toEqual([{ kind: "plate", contentType: "image/jpeg", size: 512 }])

    const heartbeat = alertXml().replace("<eventType>ANPR</eventType>", "<eventType>videoloss</eventType>")
    const xmlPart = { name: "MoveDetection.xml", filename: undefined, contentType: "application/xml", bytes: utf8(heartbeat) }
    expect(accepted(parseAlertParts([xmlPart], {}))).toEqual({ reads: [], noPlate: 0 })
  })

  it("reads the <Plates> answers (captureTime with and without the offset's sign; no confidence: 1)", () => {
    const dk18hvx = {
      detection_id: "hikvision:fc5ae664ae2e4321050410fe2a609ec9",
      timestamp: "2020-04-24T16:16:27+00:00",
      camera: { id: "hikvision:unknown:1", mac: "unknown" },
      plate: { text: "DK18HVX", confidence: 1 },
      vehicle: { direction: "approaching" }
    }
    expect(detections(parse("hikvision", fixture(HIK_PLATES_1)))).toEqual([dk18hvx])
    // The same capture listed again under another picName is the same detection.
    expect(detections(parse("hikvision", fixture(HIK_PLATES_2)))).toEqual([dk18hvx])

    const page = Either.getOrThrow(parsePlates(fixtureText(HIK_PLATES_2), { mac: "c0-56-e3-aa-bb-01" }, 2))
    expect(page.lastPicName).toBe("2020042416162789540087321")
    expect(page.reads.map((r) => r.picName)).toEqual(["2020042416162789540087321"])
    expect(page.reads[0]?.detection.camera).toEqual({ id: "hikvision:C0:56:E3:AA:BB:01:2", mac: "C0:56:E3:AA:BB:01" })
  })

  it("reads the <Plates> answers inside the camera notes, and builds the backfill request they show", () => {
    const notes = fixtureText(HIK_NOTES)
    const [withPlate, empty] = [...notes.matchAll(/<\?xml[\s\S]*?<\/Plates>/g)].map((m) => m[0])
    const page = Either.getOrThrow(parsePlates(withPlate!, { cameraId: "lane-1" }))
    expect(page.reads.map((r) => r.detection)).toEqual([{
      detection_id: "hikvision:fa1ea468e726e0d8c94a67a68934cefd",
      timestamp: "2034-01-09T09:41:30+04:00",
      camera: { id: "lane-1", mac: "unknown" },
      plate: { text: "A 39837", confidence: 1 },
      vehicle: { direction: "leaving" }
    }])
    expect(page.lastPicName).toBe("203401090941300600")
    expect(page.reads.map((r) => r.picName)).toEqual(["203401090941300600"])
    expect(Either.getOrThrow(parsePlates(empty!, {}))).toEqual({ reads: [], noPlate: 0, lastPicName: undefined })

    expect(`URL: http://192.168.1.20${platesPath(1)}`).toBe(/URL: (\S+)/.exec(notes)?.[0])
    expect(`BODY : ${platesQuery(page.lastPicName!)}`).toBe(/BODY : \S+/.exec(notes)?.[0])
    // The picture of the listed plate, at the URL the notes show.
    const pictureUrl = /^http:\/\/\S+\.jpg$/m.exec(notes)?.[0]
    expect(pictureUrl).toBe("http://192.168.1.20:80/doc/ui/images/plate/203401090941300600.jpg")
    expect(platePicturePath(page.reads[0]!.picName!)).toBe(new URL(pictureUrl!).pathname)
  })

  it("places a dateTime without offset in the configured time zone, summer time included, else in UTC", () => {
    const local = (dateTime: string) => alertXml().replace("2024-01-19T11:17:19+08:00", dateTime)
    const newYork = { timeZone: "America/New_York" }
    expect(onlyDetection(parse("hikvision", local("2024-01-19T11:17:19"), newYork)).timestamp).toBe("2024-01-19T11:17:19-05:00")
    expect(onlyDetection(parse("hikvision", local("2024-07-19T11:17:19"), newYork)).timestamp).toBe("2024-07-19T11:17:19-04:00")
    expect(onlyDetection(parse("hikvision", local("2024-01-19T11:17:19"))).timestamp).toBe("2024-01-19T11:17:19Z")
    expect(refusal(parse("hikvision", local("2024-01-19T11:17:19"), { timeZone: "Mars/Olympus" })))
      .toBe(`dateTime "2024-01-19T11:17:19" is not an ISO 8601 time`)
  })

  it("counts a vehicle with no plate read and returns no read", () => {
    const unread = alertXml()
      .replace("<licensePlate>PECT600</licensePlate>", "<licensePlate>unknown</licensePlate>")
      .replace("<confidenceLevel>97</confidenceLevel>", "<confidenceLevel>0</confidenceLevel>")
    expect(accepted(parse("hikvision", unread))).toEqual({ reads: [], noPlate: 1 })
    const empty = alertXml().replace("<licensePlate>PECT600</licensePlate>", "<licensePlate></licensePlate>")
    expect(accepted(parse("hikvision", empty))).toEqual({ reads: [], noPlate: 1 })
  })

  it("refuses malformed, truncated and foreign payloads, saying what is wrong", async () => {
    const xml = alertXml()
    expect(refusal(parse("hikvision", xml.slice(0, 1200)))).toMatch(/^not well-formed XML \(line \d+: /)
    expect(refusal(parse("hikvision", xml.slice(0, xml.indexOf("<UUID>"))))).toMatch(/^not well-formed XML .*EventNotificationAlert/)
    expect(refusal(parse("hikvision", xml.replace(/<dateTime>.*<\/dateTime>/, ""))))
      .toBe("EventNotificationAlert.dateTime is missing")
    expect(refusal(parse("hikvision", xml.replace("<confidenceLevel>97</confidenceLevel>", "<confidenceLevel>high</confidenceLevel>"))))
      .toMatch(/^EventNotificationAlert\.ANPR\.confidenceLevel: /)
    expect(refusal(parse("hikvision", xml.replace("<dateTime>2024-01-19T11:17:19+08:00", "<dateTime>2024-13-19T11:17:19+08:00"))))
      .toBe(`dateTime "2024-13-19T11:17:19+08:00" is not an ISO 8601 time`)
    expect(refusal(parse("hikvision", "<ResponseStatus><statusCode>4</statusCode></ResponseStatus>")))
      .toBe("expected an EventNotificationAlert or a Plates document, not <ResponseStatus>")
    expect(refusal(parse("hikvision", fixture(HIK_NOTES)))).toBe("not well-formed XML (line 15: Extra text at the end)")
    expect(refusal(parse("hikvision", ""))).toBe("the payload is empty")

    const push = await formData([
      { name: "anpr.xml", type: "application/xml", body: fixture(HIK_ALERT) },
      { name: "licensePlatePicture.jpg", type: "image/jpeg", body: fakeJpeg(4_000) }
    ])
    expect(refusal(parse("hikvision", push.body.subarray(0, 3_000), {}, push.contentType)))
      .toBe("the multipart body ends before its closing boundary (truncated?)")
    expect(refusal(parse("hikvision", push.body, {}, "multipart/form-data"))).toBe("the multipart body has no boundary")
    const noXml = await formData([{ name: "licensePlatePicture.jpg", type: "image/jpeg", body: fakeJpeg(100) }])
    expect(refusal(parse("hikvision", noXml.body, {}, noXml.contentType))).toBe("the multipart body has no XML part (anpr.xml)")
    const notJpeg = await formData([
      { name: "anpr.xml", type: "application/xml", body: fixture(HIK_ALERT) },
      { name: "licensePlatePicture.jpg", type: "image/jpeg", body: utf8("<html>not found</html>") }
    ])
    expect(refusal(parse("hikvision", notJpeg.body, {}, notJpeg.contentType)))
      .toBe("part licensePlatePicture.jpg is not a JPEG, PNG, GIF or WebP image")
  })
})

// ---------------------------------------------------------------------------------------------

describe("UniFi Protect", () => {
  it("reads the smartDetectTrack: the frame with the most confident plate (97 of 85-97)", () => {
    expect(onlyDetection(parse("unifi", fixture(UNIFI_TRACK)))).toEqual({
      detection_id: "unifi:f1d59512b03f596d87db22c7",
      timestamp: "2025-11-22T13:16:36.275Z",
      camera: { id: "unifi:1c9a2db4df6efda47a3509be", mac: "unknown" },
      plate: { text: "WWH336E", confidence: 0.97 },
      vehicle: { type: "car", color: "white" }
    })
  })

  it("reads a Protect event of the events list: the plate Protect matched on its best vehicle thumbnail", () => {
    // uiprotect's sample_raw_events.json, the same event as the smartDetectTrack (its plate anonymised there).
    const events = Fs.readFileSync(new URL("fixtures/unifi-protect/uiprotect_sample_raw_events_smartdetect.json", import.meta.url))
    const parsed = accepted(parse("unifi", events))
    expect(parsed.reads.map((r) => r.detection)).toEqual([{
      detection_id: "unifi:f1d59512b03f596d87db22c7",
      timestamp: "2025-11-22T13:16:38.276Z",
      camera: { id: "unifi:dcb7b0d1318653f056420d16", mac: "unknown" },
      plate: { text: "WWHXXXX", confidence: 0.75 },
      vehicle: { type: "car", color: "white" },
      source: { protect_name: "Xzz Aobdf" }
    }])
    expect(parsed.noPlate).toBe(0) // the face and person event is no vehicle
    const [event] = JSON.parse(new TextDecoder().decode(events)) as Array<Record<string, unknown>>
    expect(onlyDetection(parse("unifi", json(event), { cameraId: "drive" })).detection_id).toBe("unifi:f1d59512b03f596d87db22c7")
    expect(refusal(parse("unifi", json([event, { ...event, start: "soon" }]))))
      .toMatch(/^event 2 of 2: /)
  })

  it("reads the Alarm Manager webhook, with its thumbnail as the scene", () => {
    const parsed = accepted(parse("unifi", json(unifiWebhook())))
    expect(parsed.reads.map((r) => r.detection)).toEqual([{
      detection_id: "unifi:682ce2a70121d403e4026989",
      timestamp: "2025-05-21T09:54:47.999Z",
      camera: { id: "unifi:93:7A:6E:A0:A2:19", mac: "93:7A:6E:A0:A2:19" },
      plate: { text: "ABC123", confidence: 1 }
    }])
    expect(imagesOf(parsed.reads[0])).toEqual([{ kind: "scene", contentType: "image/jpeg", size: 2048 }])
  })

  it("reads every plate trigger of a webhook (known, of interest), and ignores other triggers", () => {
    const webhook = unifiWebhook()
    const [first] = webhook.alarm.triggers
    webhook.alarm.triggers = [
      first!,
      { ...first!, key: "license_plate_of_interest", value: " XYZ 987 ", eventId: "682ce2a70121d403e4026990", timestamp: 1747821300000 },
      { ...first!, key: "person", value: "", eventId: "682ce2a70121d403e4026991" }
    ]
    expect(detections(parse("unifi", json(webhook), { cameraId: "gate", location: { lat: 41.1, lon: -74.04 } }))).toEqual([
      {
        detection_id: "unifi:682ce2a70121d403e4026989",
        timestamp: "2025-05-21T09:54:47.999Z",
        camera: { id: "gate", mac: "93:7A:6E:A0:A2:19" },
        plate: { text: "ABC123", confidence: 1 },
        location: { lat: 41.1, lon: -74.04 }
      },
      {
        detection_id: "unifi:682ce2a70121d403e4026990",
        timestamp: "2025-05-21T09:55:00.000Z",
        camera: { id: "gate", mac: "93:7A:6E:A0:A2:19" },
        plate: { text: "XYZ 987", confidence: 1 },
        location: { lat: 41.1, lon: -74.04 }
      }
    ])
  })

  it("makes the webhook and the track of one Protect event the same detection", () => {
    const track = jsonFixture(UNIFI_TRACK)
    const webhook = unifiWebhook({ eventId: track["event"], value: "WWH336E" })
    expect(onlyDetection(parse("unifi", json(webhook))).detection_id)
      .toBe(onlyDetection(parse("unifi", fixture(UNIFI_TRACK))).detection_id)
  })

  it("counts a vehicle with no plate read (an empty trigger value, a track without a plate)", () => {
    expect(accepted(parse("unifi", json(unifiWebhook({ value: "" }))))).toEqual({ reads: [], noPlate: 1 })
    const track = jsonFixture(UNIFI_TRACK)
    track["payload"] = track["payload"].map((frame: Record<string, unknown>) => ({ ...frame, licensePlate: null }))
    expect(accepted(parse("unifi", json(track)))).toEqual({ reads: [], noPlate: 1 })
  })

  it("refuses malformed and truncated payloads, saying what is wrong", () => {
    const text = fixtureText(UNIFI_TRACK)
    expect(refusal(parse("unifi", text.slice(0, text.length / 2)))).toMatch(/^not valid JSON \(/)
    expect(refusal(parse("unifi", json({ hello: "world" }))))
      .toBe("expected an Alarm Manager webhook (alarm.triggers), a smartDetectTrack (payload), a Protect event (modelKey \"event\") or a list of events")
    expect(refusal(parse("unifi", json({ alarm: { name: "Gate" } })))).toBe("alarm.triggers is missing")
    expect(refusal(parse("unifi", json(unifiWebhook({ timestamp: "soon" })))))
      .toMatch(/^alarm\.triggers\[0\]\.timestamp: /)
    const track = jsonFixture(UNIFI_TRACK)
    delete track["payload"][3]["confidence"]
    expect(refusal(parse("unifi", json(track)))).toBe("payload[3].confidence is missing")
    expect(refusal(parse("unifi", json(unifiWebhook({}, { thumbnail: "data:image/jpeg;base64,%%%" })))))
      .toBe("alarm.thumbnail is not base64")
  })
})

// ---------------------------------------------------------------------------------------------

describe("AXIS License Plate Verifier", () => {
  const expected = {
    detection_id: "axis:32f14452f76172c3241bc815f4e6df2e",
    timestamp: "2021-06-11T10:05:38.252Z",
    camera: { id: "axis:ACCC8ED3290D", mac: "AC:CC:8E:D3:29:0D" },
    plate: { text: "RLE11684", confidence: 0.719034 },
    vehicle: { direction: "approaching" },
    location: { lat: 50.418114, lon: 30.476213 }
  }

  it("reads the event JSON (plateConfidence already 0..1, capture_timestamp in ms, geotag)", () => {
    expect(onlyDetection(parse("axis", fixture(AXIS)))).toEqual(expected)
  })

  it("reads the multipart push, its image being the plate crop the event names", async () => {
    const push = await formData([
      { name: "event", filename: "event.json", type: "application/json", body: fixture(AXIS) },
      { name: "image", filename: "image.jpg", type: "image/jpeg", body: fakeJpeg(7_777) }
    ])
    const parsed = accepted(parse("axis", push.body, {}, push.contentType))
    expect(parsed.reads.map((r) => r.detection)).toEqual([expected])
    expect(imagesOf(parsed.reads[0])).toEqual([{ kind: "plate", contentType: "image/jpeg", size: 7_777 }])
  })

  it("counts a vehicle with no plate read", () => {
    const event = { ...jsonFixture(AXIS), plateUTF8: "", plateText: "", plateConfidence: "0" }
    expect(accepted(parse("axis", json(event)))).toEqual({ reads: [], noPlate: 1 })
  })

  it("refuses malformed and truncated payloads, saying what is wrong", () => {
    const text = fixtureText(AXIS)
    expect(refusal(parse("axis", text.slice(0, 300)))).toMatch(/^not valid JSON \(/)
    const { plateConfidence: _, ...noConfidence } = jsonFixture(AXIS)
    expect(refusal(parse("axis", json(noConfidence)))).toBe("plateConfidence is missing")
    expect(refusal(parse("axis", json({ ...jsonFixture(AXIS), capture_timestamp: "yesterday" }))))
      .toMatch(/^capture_timestamp: /)
    expect(refusal(parse("axis", json({ ...jsonFixture(AXIS), plateConfidence: "71.9" }))))
      .toBe("the read is not a valid detection: plate.confidence: confidence must be between 0 and 1")
    expect(refusal(parse("axis", utf8("[]")))).toMatch(/^Expected \{/)
  })
})

// ---------------------------------------------------------------------------------------------

describe("Genetec AutoVu SharpV", () => {
  it("reads the JSON read with its GPS, attributes and inline photos", () => {
    const parsed = accepted(parse("genetec", fixture(GENETEC)))
    expect(parsed.reads.map((r) => r.detection)).toEqual([{
      detection_id: "genetec:ccd6761e-b2a6-4afc-b386-412d6529c4ec",
      timestamp: "2024-10-24T20:29:26Z",
      camera: { id: "genetec:G637821011231200521C", mac: "unknown", name: "G637821011231200521C - Camera" },
      plate: { text: "9HKA742", confidence: 0.99 },
      vehicle: { direction: "leaving", type: "passenger vehicle", color: "grey" },
      location: { lat: 37.7870816666667, lon: -122.387388333333 }
    }])
    expect(imagesOf(parsed.reads[0])).toEqual([
      { kind: "plate", contentType: "image/jpeg", size: 3_519 },
      { kind: "scene", contentType: "image/jpeg", size: 141_672 }
    ])
  })

  it("uses the configured camera and MAC, and the configured position when the read has none", () => {
    const read = { ...jsonFixture(GENETEC), Latitude: "", Longitude: "", VehicleID: "00000000-0000-0000-0000-000000000000" }
    expect(onlyDetection(parse("genetec", json(read), {
      cameraId: "patrol-2",
      cameraName: "Patrol 2 left",
      mac: "00:0c:29:aa:bb:cc",
      location: { lat: 41.14, lon: -74.03 }
    }))).toMatchObject({
      detection_id: expect.stringMatching(/^genetec:[0-9a-f]{32}$/),
      camera: { id: "patrol-2", mac: "00:0C:29:AA:BB:CC", name: "Patrol 2 left" },
      location: { lat: 41.14, lon: -74.03 }
    })
  })

  it("counts a vehicle with no plate read", () => {
    expect(accepted(parse("genetec", json({ ...jsonFixture(GENETEC), Plate: "", ConfidenceScore: "0" }))))
      .toEqual({ reads: [], noPlate: 1 })
  })

  it("refuses malformed and truncated payloads, saying what is wrong", () => {
    const text = fixtureText(GENETEC)
    expect(refusal(parse("genetec", text.slice(0, 100_000)))).toMatch(/^not valid JSON \(/)
    expect(refusal(parse("genetec", json({ ...jsonFixture(GENETEC), PlateImage: "not*base64" })))).toBe("PlateImage is not base64")
    expect(refusal(parse("genetec", json({ ...jsonFixture(GENETEC), ContextImage: base64(utf8("GIF? no")) }))))
      .toBe("ContextImage is not a JPEG, PNG, GIF or WebP image")
    expect(refusal(parse("genetec", json({ ...jsonFixture(GENETEC), DateUtc: "24/10/2024" }))))
      .toBe(`DateUtc "24/10/2024" and TimeUtc "20:29:26" are not a time`)
    const { TimeUtc: _, ...noTime } = jsonFixture(GENETEC)
    expect(refusal(parse("genetec", json(noTime)))).toBe("TimeUtc is missing")
  })
})

// ---------------------------------------------------------------------------------------------

describe("Survision", () => {
  it("reads the push (reliability 0-100, date in ms) with its inline frame as the scene", () => {
    const parsed = accepted(parse("survision", fixture(SURVISION), { cameraId: "survision-east", mac: "00:1B:C5:0A:0B:0C" }))
    expect(parsed.reads.map((r) => r.detection)).toEqual([{
      detection_id: "survision:04f68cf49c2166f27bf066b87966f267",
      timestamp: "2024-10-17T23:04:50.098Z",
      camera: { id: "survision-east", mac: "00:1B:C5:0A:0B:0C" },
      plate: { text: "MW818WM", confidence: 0.98 }
    }])
    expect(imagesOf(parsed.reads[0])).toEqual([{ kind: "scene", contentType: "image/jpeg", size: 36_661 }])
  })

  it("names an unconfigured camera it cannot identify survision:unknown", () => {
    expect(onlyDetection(parse("survision", fixture(SURVISION))).camera).toEqual({ id: "survision:unknown", mac: "unknown" })
  })

  it("maps its direction words", () => {
    const push = jsonFixture(SURVISION)
    push["anpr"]["decision"]["@direction"] = "rear"
    expect(onlyDetection(parse("survision", json(push))).vehicle).toEqual({ direction: "leaving" })
  })

  it("counts a vehicle with no plate read", () => {
    const push = jsonFixture(SURVISION)
    push["anpr"]["decision"]["@plate"] = "UNKNOWN"
    push["anpr"]["decision"]["@reliability"] = "0"
    expect(accepted(parse("survision", json(push)))).toEqual({ reads: [], noPlate: 1 })
  })

  it("refuses malformed and truncated payloads, saying what is wrong", () => {
    const text = fixtureText(SURVISION)
    expect(refusal(parse("survision", text.slice(0, 20_000)))).toMatch(/^not valid JSON \(/)
    const push = jsonFixture(SURVISION)
    push["anpr"]["decision"]["@reliability"] = "150"
    expect(refusal(parse("survision", json(push))))
      .toBe("the read is not a valid detection: plate.confidence: confidence must be between 0 and 1")
    delete push["anpr"]["@date"]
    expect(refusal(parse("survision", json(push)))).toBe("anpr.@date is missing")
    expect(refusal(parse("survision", new Uint8Array([0xff, 0xfe, 0x7b])))).toBe("the payload is not UTF-8 text")
  })
})

// ---------------------------------------------------------------------------------------------

describe("Plate Recognizer", () => {
  /** The Stream webhook body of Plate Recognizer's own webhook tester (test/fixtures/platerecognizer/SOURCES.md). */
  const webhookText = () =>
    Fs.readFileSync(new URL("./fixtures/platerecognizer/parkpow_webhook_tester_stream_recognition.json", import.meta.url), "utf8")
  const webhook = (): Record<string, any> => JSON.parse(webhookText())
  const snapshot = () => jsonFixture(PR_SNAPSHOT)

  const snapshotRead = {
    detection_id: "platerecognizer:e381232f46cb8c29ab31af1079848e75",
    timestamp: "2024-10-17T23:04:50.098000Z",
    camera: { id: "platerecognizer:sv1-searial-1", mac: "unknown" },
    plate: { text: "MW818WM", confidence: 1 },
    vehicle: { direction: "leaving", color: "black" },
    // What the read has no field for goes with it as its source (kept in the stored read's raw).
    source: {
      candidates: [
        { score: 1, plate: "mw818wm" },
        { score: 0.864, plate: "mw81bwm" },
        { score: 0.864, plate: "mw8i8wm" },
        { score: 0.864, plate: "mwb18wm" },
        { score: 0.728, plate: "mw8ibwm" },
        { score: 0.728, plate: "mwb1bwm" },
        { score: 0.728, plate: "mwbi8wm" },
        { score: 0.593, plate: "mwbibwm" }
      ],
      region: { code: "fr", score: 0.816 },
      box: { xmin: 693, ymin: 681, xmax: 988, ymax: 759 },
      dscore: 0.883,
      direction: 81
    }
  }
  const webhookRead = {
    detection_id: "platerecognizer:d16ea6ca0efdcc2a6cf48537ec7fd1de",
    timestamp: "2021-10-27T06:20:55.161444Z",
    camera: { id: "platerecognizer:camera-1", mac: "unknown" },
    plate: { text: "SLZ9043M", confidence: 0.906 },
    vehicle: { direction: "approaching", type: "suv", color: "white", make: "Mercedes-Benz" },
    source: {
      candidates: [{ plate: "slz9043m" }, { plate: "slz9043m" }, { plate: "slz9043m" }],
      region: { code: "it", score: 0.476 },
      box: { xmin: 153, ymin: 91, xmax: 302, ymax: 125 },
      dscore: 0.641,
      direction: 210
    }
  }

  /**
   * The multipart webhook as Stream posts it: the JSON in a `json` field, the frame in `upload`. Built
   * here around the real JSON (no multipart capture is published); the frame is a fake JPEG.
   */
  const multipart = async (jsonText: string | undefined, upload: Uint8Array | undefined) => {
    const form = new FormData()
    if (jsonText !== undefined) form.append("json", jsonText)
    if (upload !== undefined) form.append("upload", new Blob([Buffer.from(upload)], { type: "application/octet-stream" }), "image.jpg")
    const response = new Response(form)
    return { body: new Uint8Array(await response.arrayBuffer()), contentType: response.headers.get("content-type") ?? "" }
  }

  it("reads a Snapshot API response: plate upper-cased, score as confidence, best colour, orientation Rear leaving", () => {
    const parsed = accepted(parse("platerecognizer", fixture(PR_SNAPSHOT)))
    expect(parsed).toEqual({ reads: [{ detection: snapshotRead, images: [] }], noPlate: 0 })
  })

  it("reads a Snapshot API response with no results as no reads", () => {
    expect(accepted(parse("platerecognizer", fixture(PR_SNAPSHOT_EMPTY)))).toEqual({ reads: [], noPlate: 0 })
  })

  it("reads the Stream webhook JSON {hook, data}: vehicle type, best colour and make, orientation Front approaching", () => {
    expect(onlyDetection(parse("platerecognizer", webhookText(), {}, "application/json"))).toEqual(webhookRead)
  })

  it("reads the multipart webhook, the upload being the scene photo (type from its bytes), with or without Content-Type", async () => {
    const frame = fakeJpeg(12_345)
    const push = await multipart(webhookText(), frame)
    for (const contentType of [push.contentType, undefined]) {
      const parsed = accepted(parse("platerecognizer", push.body, {}, contentType))
      expect(parsed.reads.map((r) => r.detection)).toEqual([webhookRead])
      expect(imagesOf(parsed.reads[0])).toEqual([{ kind: "scene", contentType: "image/jpeg", size: 12_345 }])
      expect(Buffer.from(parsed.reads[0]!.images[0]!.bytes).equals(Buffer.from(frame))).toBe(true)
    }
    const noFrame = await multipart(webhookText(), undefined)
    expect(accepted(parse("platerecognizer", noFrame.body, {}, noFrame.contentType)).reads[0]?.images).toEqual([])
  })

  it("uses the configured camera, MAC and position over camera_id", () => {
    expect(onlyDetection(parse("platerecognizer", fixture(PR_SNAPSHOT), {
      cameraId: "gate-pr",
      cameraName: "Gate (Stream)",
      mac: "00:1b:c5:0a:0b:0c",
      location: { lat: 41.14, lon: -74.03 }
    }))).toMatchObject({
      camera: { id: "gate-pr", mac: "00:1B:C5:0A:0B:0C", name: "Gate (Stream)" },
      location: { lat: 41.14, lon: -74.03 }
    })
    expect(onlyDetection(parse("platerecognizer", json({ ...snapshot(), camera_id: null }))).camera)
      .toEqual({ id: "platerecognizer:unknown", mac: "unknown" })
  })

  it("reads one read per result, and counts a result with an empty plate as no plate", () => {
    const [first] = snapshot()["results"]
    const results = [first, { ...first, plate: "ab123cd", score: 0.8, color: null, model_make: null, orientation: null }, {
      ...first,
      plate: "",
      score: 0
    }]
    const parsed = accepted(parse("platerecognizer", json({ ...snapshot(), results })))
    expect(parsed.noPlate).toBe(1)
    expect(parsed.reads.map((r) => [r.detection.plate, r.detection.vehicle])).toEqual([
      [{ text: "MW818WM", confidence: 1 }, { direction: "leaving", color: "black" }],
      [{ text: "AB123CD", confidence: 0.8 }, undefined]
    ])
  })

  it("takes timestamp_local when there is no timestamp (its offset, else the camera's time zone)", () => {
    // Snapshot's webhooks write the UTC timestamp with a space and no offset.
    const snapshotHook = { ...webhook(), data: { ...webhook()["data"], timestamp: "2025-09-09 23:22:38.030345" } }
    expect(onlyDetection(parse("platerecognizer", json(snapshotHook))).timestamp).toBe("2025-09-09T23:22:38.030345Z")
    const { timestamp: _, ...data } = webhook()["data"]
    // The fixture's "... 00:00" lost its "+" to form encoding.
    expect(onlyDetection(parse("platerecognizer", json({ data }))).timestamp).toBe("2021-10-27T06:20:55.161444+00:00")
    const local = { ...data, timestamp_local: "2021-10-27 06:20:55" }
    expect(onlyDetection(parse("platerecognizer", json({ data: local }), { timeZone: "Europe/Rome" })).timestamp)
      .toBe("2021-10-27T06:20:55+02:00")
  })

  it("refuses malformed payloads, saying what is wrong", async () => {
    const refused = (body: unknown) => refusal(parse("platerecognizer", json(body)))
    expect(refusal(parse("platerecognizer", webhookText().slice(0, 400)))).toMatch(/^not valid JSON \(/)
    expect(refusal(parse("platerecognizer", ""))).toBe("the payload is empty")
    expect(refusal(parse("platerecognizer", new Uint8Array([0xff, 0xfe, 0x7b])))).toBe("the payload is not UTF-8 text")
    const { results: _, ...noResults } = snapshot()
    expect(refused(noResults)).toBe("results is missing")
    expect(refused({ hook: webhook()["hook"], data: { ...webhook()["data"], results: undefined } })).toBe("data.results is missing")
    expect(refused({ hook: webhook()["hook"] })).toBe("data is missing")
    const [first] = snapshot()["results"]
    const { plate: _p, ...noPlate } = first
    expect(refused({ ...snapshot(), results: [noPlate] })).toBe("results[0].plate is missing")
    const { score: _s, ...noScore } = first
    expect(refused({ ...snapshot(), results: [first, noScore] })).toBe("results[1].score is missing")
    expect(refused({ ...snapshot(), results: [{ ...first, score: 90 }] }))
      .toBe("the read is not a valid detection: plate.confidence: confidence must be between 0 and 1")
    expect(refused({ ...snapshot(), timestamp: "17/10/2024 23:04" })).toBe(`timestamp "17/10/2024 23:04" is not an ISO 8601 time`)
    const { timestamp: _t, ...noTime } = snapshot()
    expect(refused(noTime)).toBe("timestamp is missing")
    expect(refused([])).toMatch(/^Expected \{/)

    const noJson = await multipart(undefined, fakeJpeg(100))
    expect(refusal(parse("platerecognizer", noJson.body, {}, noJson.contentType))).toBe("the multipart body has no json part")
    const notImage = await multipart(webhookText(), utf8("<html>not a photo</html>"))
    expect(refusal(parse("platerecognizer", notImage.body, {}, notImage.contentType)))
      .toBe("part upload is not a JPEG, PNG, GIF or WebP image")
    const truncated = await multipart(webhookText(), fakeJpeg(1_000))
    expect(refusal(parse("platerecognizer", truncated.body.subarray(0, 1_500), {}, truncated.contentType)))
      .toBe("the multipart body ends before its closing boundary (truncated?)")
  })
})

// ---------------------------------------------------------------------------------------------

describe("generic webhook", () => {
  const event = {
    detection_id: "gate-1/20260501-120000-3",
    timestamp: "2026-05-01T12:00:00-04:00",
    camera: { id: "gate-1", mac: "aa:bb:cc:dd:ee:ff", name: " Main gate " },
    plate: { text: " ABC 1234 ", confidence: 0.93 },
    vehicle: { direction: "approaching", type: "Car", color: "White", make: "Toyota" },
    location: { lat: 41.1, lon: -74.0 }
  }

  it("reads one Detection-shaped event, as the contract writes it", () => {
    expect(onlyDetection(parse("generic", json(event)))).toEqual({
      detection_id: "gate-1/20260501-120000-3",
      timestamp: "2026-05-01T12:00:00-04:00",
      camera: { id: "gate-1", mac: "AA:BB:CC:DD:EE:FF", name: "Main gate" },
      plate: { text: "ABC 1234", confidence: 0.93 },
      vehicle: { direction: "approaching", type: "car", color: "white", make: "Toyota" },
      location: { lat: 41.1, lon: -74.0 }
    })
  })

  it("reads {events: [...]} with photos, ms timestamps and fingerprint ids", () => {
    const parsed = accepted(parse("generic", json({
      events: [
        { ...event, plate_image: base64(fakeJpeg(600)), scene_image: `data:image/jpeg;base64,${base64(fakeJpeg(6_000))}` },
        { timestamp: 1777636800000, plate: { text: "XYZ9", confidence: 0.5 } },
        { timestamp: "2026-05-01T12:00:05", plate: { text: "unknown", confidence: 0 } },
        { timestamp: "2026-05-01T12:00:06Z" }
      ]
    }), { cameraId: "yard" }))
    expect(parsed.noPlate).toBe(2)
    expect(parsed.reads.map((r) => r.detection)).toEqual([
      {
        detection_id: "gate-1/20260501-120000-3",
        timestamp: "2026-05-01T12:00:00-04:00",
        camera: { id: "yard", mac: "AA:BB:CC:DD:EE:FF", name: "Main gate" },
        plate: { text: "ABC 1234", confidence: 0.93 },
        vehicle: { direction: "approaching", type: "car", color: "white", make: "Toyota" },
        location: { lat: 41.1, lon: -74.0 }
      },
      {
        detection_id: "generic:666d5940997dde75f2549759f6670d81",
        timestamp: "2026-05-01T12:00:00.000Z",
        camera: { id: "yard", mac: "unknown" },
        plate: { text: "XYZ9", confidence: 0.5 }
      }
    ])
    expect(imagesOf(parsed.reads[0])).toEqual([
      { kind: "plate", contentType: "image/jpeg", size: 600 },
      { kind: "scene", contentType: "image/jpeg", size: 6_000 }
    ])
  })

  it("counts plates with no letter or digit, or with confidence 0, as no plate", () => {
    const events = [
      { ...event, detection_id: "a", plate: { text: "---", confidence: 0.8 } },
      { ...event, detection_id: "b", plate: { text: "ABC123", confidence: 0 } },
      { ...event, detection_id: "c", plate: { text: "   ", confidence: 0.8 } }
    ]
    expect(accepted(parse("generic", json({ events })))).toEqual({ reads: [], noPlate: 3 })
  })

  it("refuses malformed and truncated payloads, naming the event", () => {
    const text = JSON.stringify({ events: [event, event] })
    expect(refusal(parse("generic", text.slice(0, text.length - 5)))).toMatch(/^not valid JSON \(/)
    expect(refusal(parse("generic", json({ events: [event, { ...event, timestamp: undefined }] }))))
      .toBe("events[1].timestamp is missing")
    expect(refusal(parse("generic", json({ events: [event, { ...event, detection_id: "x", plate: { text: "AB1", confidence: 87 } }] }))))
      .toBe("read 2 of 2 is not a valid detection: plate.confidence: confidence must be between 0 and 1")
    expect(refusal(parse("generic", json({ ...event, timestamp: "1 May 2026" }))))
      .toBe(`timestamp "1 May 2026" is not an ISO 8601 time or ms since the epoch`)
    expect(refusal(parse("generic", json({ ...event, scene_image: base64(utf8("plain text")) }))))
      .toBe("scene_image is not a JPEG, PNG, GIF or WebP image")
    expect(refusal(parse("generic", json({ ...event, location: { lat: 141.1, lon: -74 } }))))
      .toMatch(/^the read is not a valid detection: location\.lat: /)
  })
})

// ---------------------------------------------------------------------------------------------

describe("detection ids", () => {
  const samples = [
    ["hikvision", HIK_ALERT],
    ["hikvision", HIK_PLATES_1],
    ["unifi", UNIFI_TRACK],
    ["axis", AXIS],
    ["genetec", GENETEC],
    ["survision", SURVISION],
    ["platerecognizer", PR_SNAPSHOT]
  ] as const

  it("are the same when the camera sends the same read again", () => {
    for (const [vendor, name] of samples) {
      const first = detections(parse(vendor, fixture(name)))
      const again = detections(parse(vendor, fixture(name)))
      expect(again.map((d) => d.detection_id), name).toEqual(first.map((d) => d.detection_id))
    }
    // Re-sent JSON need not be byte for byte the same.
    expect(onlyDetection(parse("axis", json(jsonFixture(AXIS)))).detection_id).toBe("axis:32f14452f76172c3241bc815f4e6df2e")
  })

  it("differ between two events", () => {
    const other = <T>(value: T, change: (v: T) => void) => {
      change(value)
      return value
    }
    const pairs: ReadonlyArray<readonly [typeof VENDORS[number], Uint8Array, Uint8Array]> = [
      ["hikvision", fixture(HIK_ALERT), utf8(alertXml().replace("<UUID>2024", "<UUID>2025"))],
      ["hikvision", fixture(HIK_PLATES_1), utf8(fixtureText(HIK_PLATES_1).replace("T161627", "T161628"))],
      ["unifi", fixture(UNIFI_TRACK), json(other(jsonFixture(UNIFI_TRACK), (t) => (t["event"] = "f1d59512b03f596d87db22c8")))],
      ["unifi", json(unifiWebhook()), json(unifiWebhook({ eventId: "682ce2a70121d403e4026999" }))],
      ["axis", fixture(AXIS), json({ ...jsonFixture(AXIS), capture_timestamp: "1623405938253" })],
      ["axis", fixture(AXIS), json(other(jsonFixture(AXIS), (e) => (e["camera_info"]["SerialNumber"] = "ACCC8ED3290E")))],
      ["genetec", fixture(GENETEC), json({ ...jsonFixture(GENETEC), VehicleID: "ccd6761e-b2a6-4afc-b386-412d6529c4ed" })],
      ["survision", fixture(SURVISION), json(other(jsonFixture(SURVISION), (p) => (p["anpr"]["decision"]["@plate"] = "MW818WN")))],
      ["platerecognizer", fixture(PR_SNAPSHOT), json({ ...jsonFixture(PR_SNAPSHOT), timestamp: "2024-10-17T23:04:51.098000Z" })],
      ["generic", json({ timestamp: "2026-05-01T12:00:00Z", plate: { text: "A1", confidence: 1 } }), json({ timestamp: "2026-05-01T12:00:01Z", plate: { text: "A1", confidence: 1 } })]
    ]
    for (const [vendor, one, two] of pairs) {
      expect(onlyDetection(parse(vendor, one)).detection_id, vendor).not.toBe(onlyDetection(parse(vendor, two)).detection_id)
    }
  })

  it("keep a read listed twice in one payload once", () => {
    const read = { timestamp: "2026-05-01T12:00:00Z", plate: { text: "A1", confidence: 1 } }
    expect(detections(parse("generic", json({ events: [read, read] })))).toHaveLength(1)
  })
})

// ---------------------------------------------------------------------------------------------

describe("Blue Iris (ALPR-Database's body)", () => {
  /** ALPR-Database's own test body and its sample `&JSON` dump (test/fixtures/blueiris/SOURCES.md). */
  const PAYLOAD = "alpr_database_test_payload.json"
  const DUMP = "alpr_database_json_dump_example.json"
  const own = (name: string) => Fs.readFileSync(new URL(`./fixtures/blueiris/${name}`, import.meta.url))
  const ownJson = (name: string): Record<string, any> => JSON.parse(own(name).toString("utf8"))
  // The other bodies are built here from the fields ALPR-Database's route reads (no other capture is published).
  const at = "2026-05-01T12:00:00.123Z"
  const cam = { id: "blueiris:Gate", mac: "unknown", name: "Gate" }
  const blueiris = (body: unknown, ctx = {}) => parse("blueiris", json(body), ctx)
  const plates = (body: unknown) => detections(blueiris(body)).map((d) => [d.plate.text, d.plate.confidence, d.vehicle?.type])

  it("reads the real test body: ai_dump wins over plate_number, one read per prediction, Image the scene photo (WebP)", () => {
    const parsed = accepted(parse("blueiris", own(PAYLOAD)))
    const camera = { id: "blueiris:ALPR2", mac: "unknown", name: "ALPR2" }
    // The body but its image goes with each read as its source: ALERT_PATH, ALERT_CLIP, the AI dump.
    const { Image: _image, ...source } = ownJson(PAYLOAD)
    expect(source).toMatchObject({ ALERT_PATH: "LLLL.LLLL", ALERT_CLIP: "TTTT@TTTT", plate_number: "D333X1" })
    expect(parsed.reads.map((r) => r.detection)).toEqual([
      {
        detection_id: "blueiris:ca1d5b35ae649793361e0ac83e88e025",
        timestamp: "2025-07-15T13:59:04Z",
        camera,
        plate: { text: "9RPX658", confidence: 0.9400946199893951 },
        source
      },
      {
        detection_id: "blueiris:9c1ee3830944f43038153d21cfc8e8bd",
        timestamp: "2025-07-15T13:59:04Z",
        camera,
        plate: { text: "HF7499", confidence: 0.9081299901008606 },
        source
      }
    ])
    expect(parsed.noPlate).toBe(0)
    const photo = Buffer.from(ownJson(PAYLOAD)["Image"], "base64")
    for (const read of parsed.reads) {
      expect(imagesOf(read)).toEqual([{ kind: "scene", contentType: "image/webp", size: 44_994 }])
      expect(Buffer.from(read.images[0]!.bytes).equals(photo)).toBe(true)
    }
  })

  it("reads ai_dump as an array or as one object, upper-casing the plate and keeping its space", () => {
    const dump = ownJson(DUMP)
    const expected = [["SGX 7923G", 0.9400946199893951, undefined], ["HF7499", 0.9081299901008606, undefined]]
    expect(plates({ ai_dump: dump, camera: "Gate", timestamp: at })).toEqual(expected)
    expect(plates({ ai_dump: dump[0], camera: "Gate", timestamp: at })).toEqual(expected)
    const lower = { api: "alpr", found: { predictions: [{ ...dump[0]["found"]["predictions"][1], plate: "hf7499" }] } }
    expect(plates({ ai_dump: lower, timestamp: at })).toEqual([["HF7499", 0.9081299901008606, undefined]])
  })

  it("takes the vehicle from another model's result in ai_dump (the best-scored vehicle label)", () => {
    const objects = {
      api: "objects",
      found: { predictions: [{ label: "person", confidence: 0.97 }, { label: "truck", confidence: 0.61 }, { label: "Car", confidence: 0.83 }] }
    }
    const alpr = ownJson(DUMP)[0]
    const body = { ai_dump: [objects, { ...alpr, found: { predictions: [alpr["found"]["predictions"][1]] } }], camera: "Gate", timestamp: at }
    expect(onlyDetection(blueiris(body))).toEqual({
      detection_id: onlyDetection(blueiris({ plate_number: "HF7499", camera: "Gate", timestamp: at })).detection_id,
      timestamp: at,
      camera: cam,
      plate: { text: "HF7499", confidence: 0.9081299901008606 },
      vehicle: { type: "car" },
      source: body
    })
  })

  it("reads a memo: plates among object labels, 0..1 or percent, brackets removed, the same plate once", () => {
    expect(onlyDetection(blueiris({ memo: "ABC123:0.91,car:0.88", camera: "Gate", timestamp: at }))).toEqual({
      detection_id: "blueiris:82074c1fff9af1b3e3acc242d476a840",
      timestamp: at,
      camera: cam,
      plate: { text: "ABC123", confidence: 0.91 },
      vehicle: { type: "car" },
      source: { memo: "ABC123:0.91,car:0.88", camera: "Gate", timestamp: at }
    })
    expect(plates({ memo: "person:93%, [xyz9]:87%, truck:70%, XYZ9:0.5, DEF456", timestamp: at })).toEqual([
      ["XYZ9", 0.87, "truck"],
      ["DEF456", 1, "truck"]
    ])
  })

  it("reads plate_number alone, unscored (confidence 1)", () => {
    expect(onlyDetection(blueiris({ plate_number: "d333x1", timestamp: "2026-05-01T12:00:00Z" }))).toEqual({
      detection_id: "blueiris:fca4c467fdb7322e7d5f9b7604e3193d",
      timestamp: "2026-05-01T12:00:00Z",
      camera: { id: "blueiris:unknown", mac: "unknown" },
      plate: { text: "D333X1", confidence: 1 },
      source: { plate_number: "d333x1", timestamp: "2026-05-01T12:00:00Z" }
    })
  })

  it("keeps the read but leaves out its source when the body beside it is over 16 KiB of JSON", () => {
    const memo = "ABC123:0.91"
    const read = onlyDetection(blueiris({ memo, timestamp: at, ALERT_PATH: "x".repeat(20_000) }))
    expect(read.plate.text).toBe("ABC123")
    expect(read.source).toBeUndefined()
  })

  it("takes ai_dump over memo over plate_number, as ALPR-Database does", () => {
    const alpr = ownJson(DUMP)
    expect(plates({ ai_dump: alpr, memo: "MEMO1:0.9", plate_number: "PLATE1", timestamp: at }).map((p) => p[0]))
      .toEqual(["SGX 7923G", "HF7499"])
    expect(plates({ memo: "MEMO1:0.9", plate_number: "PLATE1", timestamp: at })).toEqual([["MEMO1", 0.9, undefined]])
    expect(plates({ ai_dump: null, memo: "", plate_number: "PLATE1", timestamp: at })).toEqual([["PLATE1", 1, undefined]])
    // A dump without an ALPR result yields no plate even beside a memo.
    expect(refusal(blueiris({ ai_dump: [{ api: "objects", found: { predictions: [] } }], memo: "MEMO1:0.9" })))
      .toBe(`No valid plates found in request: ai_dump has no ALPR result (no entry with api "alpr")`)
  })

  it("decodes Image (a data: URL too) and types it by its bytes; uses the configured camera", () => {
    const photo = fakeJpeg(3_000)
    const parsed = accepted(blueiris(
      { plate_number: "AB12CDE", Image: `data:image/jpeg;base64,${base64(photo)}`, camera: "Gate", timestamp: at },
      { cameraId: "gate-bi", cameraName: "Gate (Blue Iris)", mac: "00:1b:c5:0a:0b:0c", location: { lat: 41.14, lon: -74.03 } }
    ))
    expect(parsed.reads[0]?.detection).toMatchObject({
      camera: { id: "gate-bi", mac: "00:1B:C5:0A:0B:0C", name: "Gate (Blue Iris)" },
      location: { lat: 41.14, lon: -74.03 }
    })
    expect(imagesOf(parsed.reads[0])).toEqual([{ kind: "scene", contentType: "image/jpeg", size: 3_000 }])
    expect(Buffer.from(parsed.reads[0]!.images[0]!.bytes).equals(Buffer.from(photo))).toBe(true)
    expect(parsed.reads[0]?.images).toHaveLength(1)
    expect(accepted(blueiris({ plate_number: "AB12CDE", Image: "", timestamp: at })).reads[0]?.images).toEqual([])
  })

  it("reads &ALERT_TIME as ISO 8601 (a time without offset as UTC), and times a body without one on arrival", () => {
    const time = (timestamp: unknown) => onlyDetection(blueiris({ plate_number: "AB12CDE", timestamp })).timestamp
    expect(time("2026-05-01T14:00:00.5+02:00")).toBe("2026-05-01T14:00:00.5+02:00")
    expect(time("2026-05-01 12:00:00")).toBe("2026-05-01T12:00:00Z")
    const before = Date.now()
    const arrived = Date.parse(time(undefined))
    expect(arrived).toBeGreaterThanOrEqual(before - 1)
    expect(arrived).toBeLessThanOrEqual(Date.now())
  })

  it("refuses malformed bodies, saying what is wrong", () => {
    const refused = (body: unknown) => refusal(blueiris(body))
    expect(refusal(parse("blueiris", own(PAYLOAD).subarray(0, 300)))).toMatch(/^the body is not valid JSON \(/)
    expect(refusal(parse("blueiris", new Uint8Array([0xff, 0xfe, 0x7b])))).toBe("the payload is not UTF-8 text")
    expect(refused({ camera: "Gate", timestamp: at })).toBe("No valid plates found in request: send ai_dump, memo or plate_number")
    expect(refused([{ plate_number: "A1" }])).toBe("the body must be a JSON object with ai_dump, memo or plate_number")
    expect(refused({ memo: "car:0.88,person:0.7" })).toBe("No valid plates found in request: memo holds no plate")
    expect(refused({ memo: "ABC123:91" })).toBe(`memo item "ABC123:91": confidence 91 is not between 0 and 1 (nor a percentage)`)
    const prediction = ownJson(DUMP)[0]["found"]["predictions"][0]
    expect(refused({ ai_dump: [{ api: "alpr", found: { predictions: [{ ...prediction, confidence: 94 }] } }] }))
      .toBe("ai_dump[0].found.predictions[0].confidence: confidence must be between 0 and 1")
    const { confidence: _c, ...unscored } = prediction
    expect(refused({ ai_dump: { api: "alpr", found: { predictions: [unscored] } } }))
      .toBe("ai_dump.found.predictions[0].confidence is missing")
    expect(refused({ ai_dump: { api: "alpr", found: { predictions: [] } } })).toBe("No valid plates found in request: ai_dump holds no plate")
    expect(refused({ plate_number: 123456 })).toMatch(/^body\.plate_number: Expected string/)
    expect(refused({ plate_number: "A1", timestamp: "&ALERT_TIME" }))
      .toBe(`timestamp "&ALERT_TIME" is not an ISO 8601 time such as 2025-07-15T13:59:04Z`)
    expect(refused({ plate_number: "A1", timestamp: "2026-02-30T12:00:00Z" }))
      .toBe(`timestamp "2026-02-30T12:00:00Z" is not an ISO 8601 time such as 2025-07-15T13:59:04Z`)
    expect(refused({ plate_number: "A1", timestamp: at, Image: "not*base64" })).toBe("Image is not base64")
    expect(refused({ plate_number: "A1", timestamp: at, Image: base64(utf8("<html>no photo</html>")) }))
      .toBe("Image is not a JPEG, PNG, GIF or WebP image")
    // A plate with no letter or digit is the adapters' "no plate", counted (the listener answers it 400).
    expect(accepted(blueiris({ plate_number: "!!", timestamp: at }))).toEqual({ reads: [], noPlate: 1 })
  })
})
