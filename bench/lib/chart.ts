/**
 * Small line charts as SVG, for the pictures in the README (docs/perf/): panels side by side, each
 * with its title, its unit and one or more series, y from 0, one x axis shared by all panels.
 */

export interface Series {
  readonly name: string
  readonly colour: string
  readonly points: ReadonlyArray<readonly [x: number, y: number]>
  /** which points carry their value as a label: each (a few points) or the last (a sampled curve) */
  readonly labels: "each" | "last"
}

export interface Panel {
  readonly title: string
  readonly unit: string
  readonly series: ReadonlyArray<Series>
  /** where the series' names go when there are several: inside the plot at its top right (default), or after the title */
  readonly legend?: "inside" | "title"
}

export interface XAxis {
  readonly label: string
  /** a logarithmic axis (sizes 1 m, 10 m, 50 m) rather than a linear one */
  readonly log: boolean
  readonly ticks: ReadonlyArray<readonly [x: number, text: string]>
}

/** The round number at or above `v` that a y axis ends at: 1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten. */
const niceCeil = (v: number) => {
  if (v <= 0) return 1
  const p = 10 ** Math.floor(Math.log10(v))
  return [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].map((m) => m * p).find((c) => c >= v)!
}

const formatValue = (v: number) =>
  v === 0 ? "0" : v >= 100 ? Math.round(v).toLocaleString("en-US") : v >= 10 ? v.toFixed(1) : v.toFixed(2)

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;")

export const lineChartsSvg = (
  panels: ReadonlyArray<Panel>,
  x: XAxis,
  footnote: string,
  size: { readonly width: number; readonly height: number } = { width: 300, height: 220 }
): string => {
  const { width: W, height: H } = size
  const pad = { l: 56, r: 14, t: 30, b: 44 }
  const scale = (n: number) => (x.log ? Math.log10(n) : n)
  const xs = [...x.ticks.map(([n]) => n), ...panels.flatMap((p) => p.series.flatMap((s) => s.points.map(([n]) => n)))]
  const [x0, x1] = [scale(Math.min(...xs)), scale(Math.max(...xs))]
  const xOf = (n: number) => pad.l + (x1 === x0 ? 0.5 : (scale(n) - x0) / (x1 - x0)) * (W - pad.l - pad.r)
  const body = panels.map((panel, i) => {
    const all = panel.series.flatMap((s) => s.points.map(([, y]) => y)).filter((v) => Number.isFinite(v))
    const top = all.length === 0 ? 1 : niceCeil(Math.max(...all))
    const yOf = (v: number) => H - pad.b - (v / top) * (H - pad.t - pad.b)
    // names after the title, about 6 px a character at these sizes
    const legendAt = panel.series.reduce<Array<number>>(
      (at, _s, k) => [...at, k === 0 ? pad.l + 7.5 * panel.title.length + 16 : at[k - 1]! + 6 * panel.series[k - 1]!.name.length + 18],
      []
    )
    // the y of each label written so far, so that a curve's last value is not written over another's
    const taken: Array<number> = []
    const free = (y: number) => {
      let at = y
      while (taken.some((t) => Math.abs(t - at) < 11)) at -= 11
      taken.push(at)
      return at
    }
    const lines = panel.series.map((s, k) => {
      const pts = s.points.filter(([, v]) => Number.isFinite(v)).map(([n, v]) => [xOf(n), yOf(v), v] as const)
      const labelled = s.labels === "each" ? pts : pts.slice(-1)
      return [
        `<polyline fill="none" stroke="${s.colour}" stroke-width="2" points="${pts.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(" ")}"/>`,
        ...labelled.map(([px, py, v]) => {
          // labels of the points near the right edge go to their left
          const left = px > W - pad.r - 40
          const ly = s.labels === "last" ? free(py - 6) : py - 6
          return (s.labels === "each" ? `<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="3" fill="${s.colour}"/>` : "") +
            `<text x="${(left ? px - 5 : px + 5).toFixed(1)}" y="${ly.toFixed(1)}" font-size="10" fill="${s.colour}"` +
            `${left ? ' text-anchor="end"' : ""}>${formatValue(v)}</text>`
        }),
        panel.series.length < 2
          ? ""
          : panel.legend === "title"
          ? `<text x="${legendAt[k]!.toFixed(0)}" y="18" font-size="10" fill="${s.colour}">${esc(s.name)}</text>`
          : `<text x="${W - pad.r - 70}" y="${pad.t + 12 + 12 * k}" font-size="10" fill="${s.colour}">${esc(s.name)}</text>`
      ].join("")
    }).join("")
    return `<g transform="translate(${i * W},0)">
<text x="${pad.l}" y="18" font-size="12" font-weight="bold">${esc(panel.title)}</text>
${[0, top / 2, top].map((t) => `<line x1="${pad.l}" x2="${W - pad.r}" y1="${yOf(t).toFixed(1)}" y2="${yOf(t).toFixed(1)}" stroke="#ddd"/><text x="${pad.l - 6}" y="${(yOf(t) + 3).toFixed(1)}" font-size="10" text-anchor="end">${formatValue(t)}</text>`).join("")}
<text x="12" y="${(H - pad.b + pad.t) / 2}" font-size="10" transform="rotate(-90 12 ${(H - pad.b + pad.t) / 2})" text-anchor="middle">${esc(panel.unit)}</text>
${x.ticks.map(([n, text]) => `<text x="${xOf(n).toFixed(1)}" y="${H - pad.b + 14}" font-size="10" text-anchor="middle">${esc(text)}</text>`).join("")}
<text x="${(pad.l + W - pad.r) / 2}" y="${H - 10}" font-size="10" text-anchor="middle">${esc(x.label)}</text>
${lines}
</g>`
  }).join("\n")
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W * panels.length}" height="${H + 16}" font-family="sans-serif" viewBox="0 0 ${W * panels.length} ${H + 16}">
<rect width="100%" height="100%" fill="#fff"/>
${body}
<text x="8" y="${H + 10}" font-size="9" fill="#555">${esc(footnote)}</text>
</svg>
`
}
