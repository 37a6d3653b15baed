// Jupyter counts cursor positions in Unicode code points; JavaScript strings and the TypeScript
// language service count UTF-16 code units. These two convert between them.

/** UTF-16 offset of the code point at `cp` (clamped to the string). */
export function codePointToUtf16(text: string, cp: number): number {
  let units = 0;
  let seen = 0;
  while (seen < cp && units < text.length) {
    const c = text.codePointAt(units)!;
    units += c > 0xffff ? 2 : 1;
    seen++;
  }
  return units;
}

/** Number of code points in the first `units` UTF-16 units. */
export function utf16ToCodePoint(text: string, units: number): number {
  let cp = 0;
  let i = 0;
  const end = Math.min(units, text.length);
  while (i < end) {
    const c = text.codePointAt(i)!;
    i += c > 0xffff ? 2 : 1;
    cp++;
  }
  return cp;
}
