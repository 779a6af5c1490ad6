const channel = (value: number) => {
  const c = value / 255
  return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4
}

/** WCAG relative luminance of `#rrggbb`. */
const luminance = (hex: string) => {
  const n = Number.parseInt(hex.slice(1, 7), 16)
  if (!/^#[0-9a-f]{6}$/i.test(hex) || Number.isNaN(n)) return 0
  return 0.2126 * channel((n >> 16) & 255) + 0.7152 * channel((n >> 8) & 255) + 0.0722 * channel(n & 255)
}

/**
 * Black or white text on a list's colour, whichever contrasts more: at least 4.58:1 whatever the
 * colour (WCAG AA asks 4.5:1). It must be pure black: with a softer dark (slate-950) the greys around
 * #767676 get only 4.44:1 either way.
 */
export const textOn = (hex: string) => {
  const l = luminance(hex)
  return (l + 0.05) / 0.05 >= 1.05 / (l + 0.05) ? "#000000" : "#ffffff"
}

export const CATEGORY_LABEL = {
  stolen: "Stolen",
  bolo: "BOLO",
  missing_person: "Missing person",
  of_interest: "Of interest",
  allow: "Allow list"
} as const
