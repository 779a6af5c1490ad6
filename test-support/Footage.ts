import { execFile } from "node:child_process"
import { promisify } from "node:util"

const run = promisify(execFile)

/**
 * Footage made for tests with Debian's ffmpeg: scenes of one colour each (see FakeRecognisers.ts: a
 * colour stands for a vehicle), one after another.
 */
export const makeColourVideo = async (
  path: string,
  scenes: ReadonlyArray<{ readonly colour: string; readonly seconds: number }>,
  options: { readonly creationTime?: string; readonly size?: string } = {}
) => {
  const size = options.size ?? "640x360"
  const inputs = scenes.flatMap((s) => ["-f", "lavfi", "-i", `color=c=${s.colour}:s=${size}:r=10:d=${s.seconds}`])
  const joined = scenes.map((_, i) => `[${i}:v]`).join("") + `concat=n=${scenes.length}:v=1:a=0[v]`
  await run("ffmpeg", [
    "-hide_banner", "-loglevel", "error", "-y", ...inputs, "-filter_complex", joined, "-map", "[v]",
    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
    ...(options.creationTime === undefined ? [] : ["-metadata", `creation_time=${options.creationTime}`]),
    path
  ])
}

/** A still picture of one colour (JPEG or PNG by the path's extension). */
export const makeColourPhoto = async (path: string, colour: string, size = "800x600") => {
  await run("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", `color=c=${colour}:s=${size}`, "-frames:v", "1", path])
}

/**
 * A street-like picture with one plate on a vehicle, its characters in a font the machine has (Debian's
 * DejaVu, with fontconfig: what ffmpeg brings), rendered by sharp from SVG; JPEG.
 */
export const platePicture = async (text: string, options: { readonly x?: number; readonly y?: number; readonly plateWidth?: number } = {}) => {
  const { default: sharp } = await import("sharp")
  const w = options.plateWidth ?? 300
  const h = Math.round(w * 0.23)
  const x = options.x ?? 500
  const y = options.y ?? 480
  const svg = `<svg width="1280" height="720" xmlns="http://www.w3.org/2000/svg">
    <rect width="1280" height="720" fill="#6b7b8c"/><rect x="0" y="600" width="1280" height="120" fill="#3d3f42"/>
    <rect x="${x - 200}" y="${y - 230}" width="${w + 400}" height="${h + 300}" rx="30" fill="#2f3a4a"/>
    <rect x="${x}" y="${y}" width="${w}" height="${h}" rx="8" fill="#f4f4f0" stroke="#222" stroke-width="3"/>
    <text x="${x + w / 2}" y="${y + h * 0.78}" font-family="DejaVu Sans, sans-serif" font-weight="bold" font-size="${h * 0.72}"
      text-anchor="middle" fill="#111">${text}</text></svg>`
  return new Uint8Array(await sharp(Buffer.from(svg)).jpeg({ quality: 88 }).toBuffer())
}

/** A video of pictures shown one after another, each for `seconds`. */
export const makeSlideshow = async (path: string, slides: ReadonlyArray<{ readonly jpeg: Uint8Array; readonly seconds: number }>, options: { readonly creationTime?: string } = {}) => {
  const { mkdtemp, rm, writeFile } = await import("node:fs/promises")
  const { join } = await import("node:path")
  const { tmpdir } = await import("node:os")
  const dir = await mkdtemp(join(tmpdir(), "alpr-slides-"))
  try {
    const inputs: Array<string> = []
    for (const [i, slide] of slides.entries()) {
      await writeFile(join(dir, `${i}.jpg`), slide.jpeg)
      inputs.push("-loop", "1", "-t", String(slide.seconds), "-framerate", "10", "-i", join(dir, `${i}.jpg`))
    }
    const joined = slides.map((_, i) => `[${i}:v]`).join("") + `concat=n=${slides.length}:v=1:a=0,format=yuv420p[v]`
    await run("ffmpeg", [
      "-hide_banner", "-loglevel", "error", "-y", ...inputs, "-filter_complex", joined, "-map", "[v]",
      "-c:v", "libx264", "-preset", "ultrafast",
      ...(options.creationTime === undefined ? [] : ["-metadata", `creation_time=${options.creationTime}`]),
      path
    ])
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
