import { useCallback, useEffect, useState } from "react"

// A tone made by the browser (Web Audio), so there is no sound file to serve or cache. Browsers keep
// an AudioContext suspended until someone touches the page; the kiosk script starts Chromium with
// --autoplay-policy=no-user-gesture-required, elsewhere the wall offers a button once.
let context: AudioContext | undefined

const audio = () => {
  if (context === undefined && typeof AudioContext === "function") context = new AudioContext()
  return context
}

/** Two rising notes, three times: heard across a room without being shrill. The most urgent lists play faster. */
const chime = (ctx: AudioContext, urgent: boolean) => {
  const gap = urgent ? 0.32 : 0.45
  const start = ctx.currentTime + 0.05
  for (let i = 0; i < 6; i++) {
    const at = start + i * gap
    const oscillator = ctx.createOscillator()
    const gain = ctx.createGain()
    oscillator.type = "sine"
    oscillator.frequency.value = i % 2 === 0 ? 660 : 880
    gain.gain.setValueAtTime(0.0001, at)
    gain.gain.exponentialRampToValueAtTime(0.35, at + 0.02)
    gain.gain.exponentialRampToValueAtTime(0.0001, at + gap * 0.9)
    oscillator.connect(gain).connect(ctx.destination)
    oscillator.start(at)
    oscillator.stop(at + gap)
  }
}

/**
 * The wall's alert sound: `blocked` while the browser has not allowed audio (show the button that
 * calls `enable`), `play` sounds the chime when it may.
 */
export const useAlertSound = () => {
  const [blocked, setBlocked] = useState(() => audio()?.state !== "running")
  useEffect(() => {
    const ctx = audio()
    if (ctx === undefined) return
    const update = () => setBlocked(ctx.state !== "running")
    ctx.addEventListener("statechange", update)
    update()
    return () => ctx.removeEventListener("statechange", update)
  }, [])
  const enable = useCallback(() => {
    const ctx = audio()
    if (ctx === undefined) return
    void ctx.resume().then(() => chime(ctx, false))
  }, [])
  const play = useCallback((urgent: boolean) => {
    const ctx = audio()
    if (ctx?.state === "running") chime(ctx, urgent)
  }, [])
  return { blocked: blocked && audio() !== undefined, enable, play }
}
