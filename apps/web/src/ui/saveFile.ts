/** Hands text to the browser as a downloaded file named `name`. */
export const saveFile = (text: string, name: string, type: string) => {
  const url = URL.createObjectURL(new Blob([text], { type }))
  const link = document.createElement("a")
  link.href = url
  link.download = name
  link.click()
  // after the browser has taken the file
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000)
}
