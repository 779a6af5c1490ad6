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
