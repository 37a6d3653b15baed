// How a terminal shows a mime bundle: text only. Rich outputs fall back to their text/plain, a table of
// rows is drawn as text, and images say what they were and how big.
import type { MimeBundle } from "../protocol.js";
import { TABLE_MIME, tableText, type TableData } from "./mime.js";

const IMAGE_TYPES = ["image/png", "image/jpeg", "image/svg+xml", "image/gif"];

export function bundleToText(b: MimeBundle): string {
  const table = b[TABLE_MIME] as TableData | undefined;
  if (table && Array.isArray(table.columns)) return tableText(table);
  const plain = b["text/plain"];
  if (typeof plain === "string") return plain;
  for (const t of IMAGE_TYPES) {
    const d = b[t];
    if (typeof d === "string") {
      const bytes = t === "image/svg+xml" ? Buffer.byteLength(d) : Buffer.from(d, "base64").length;
      return `[${t} output: ${bytes} bytes]`;
    }
  }
  if (typeof b["text/markdown"] === "string") return b["text/markdown"];
  if (typeof b["text/html"] === "string") return (b["text/html"]).replace(/<[^>]*>/g, "");
  if (b["application/json"] !== undefined) return JSON.stringify(b["application/json"], null, 2);
  const kinds = Object.keys(b);
  return kinds.length ? `[${kinds.join(", ")} output]` : "";
}
