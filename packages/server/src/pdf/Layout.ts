/**
 * The standard PDF fonts speak Windows-1252 only: other characters (what a camera or a person may have
 * typed) are shown as `?`. The files beside a PDF (an export's CSV, a bundle's JSON) hold every text exactly.
 */
export const printable = (text: string) => text.replace(/[^\x20-\x7e\u00a0-\u00ff]/g, "?")

export interface Column {
  readonly title: string
  readonly width: number
}

/**
 * What the product's PDFs (the evidence report, a search's export) write the same way: within the page's
 * margins, `name: value` fields and tables of small text whose rows grow to their tallest cell and whose
 * header is repeated on each new page.
 */
export const layoutOf = (doc: PDFKit.PDFDocument) => {
  const left = doc.page.margins.left
  const width = doc.page.width - doc.page.margins.left - doc.page.margins.right
  const bottom = () => doc.page.height - doc.page.margins.bottom

  const field = (name: string, value: string) => {
    doc.font("Helvetica-Bold").fontSize(10).text(`${name}: `, left, undefined, { continued: true, width })
    doc.font("Helvetica").text(printable(value))
  }

  /** A table's rows, one call a row; the header is written first and again at the top of each new page. */
  const table = (columns: ReadonlyArray<Column>) => {
    const row = (cells: ReadonlyArray<string>, header: boolean) => {
      doc.font(header ? "Helvetica-Bold" : "Helvetica").fontSize(8)
      const height = Math.max(...cells.map((cell, i) => doc.heightOfString(printable(cell), { width: columns[i]!.width - 4 }))) + 4
      if (doc.y + height > bottom()) {
        doc.addPage()
        if (!header) row(columns.map((c) => c.title), true)
        doc.font(header ? "Helvetica-Bold" : "Helvetica").fontSize(8)
      }
      const y = doc.y
      let x = left
      cells.forEach((cell, i) => {
        doc.text(printable(cell), x, y, { width: columns[i]!.width - 4 })
        x += columns[i]!.width
      })
      doc.x = left
      doc.y = y + height
    }
    row(columns.map((c) => c.title), true)
    return (cells: ReadonlyArray<string>) => row(cells, false)
  }

  return { left, width, bottom, field, table }
}
