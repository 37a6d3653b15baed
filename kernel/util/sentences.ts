// Error messages are built from parts ("X failed: ${cause}. Do Y."); a cause that already ends in a
// full stop would otherwise leave a doubled one.

/** `s` with every doubled full stop made single; an ellipsis ("...") and "../" stay. */
export function singleStops(s: string): string {
  return s.replace(/(?<!\.)\.\.(?![./])/g, ".");
}
