// How a cell's type errors are shown: one Jupyter error (or, with %typecheck warn, the same text on
// stderr), each diagnostic with its TS code and the cell line with a caret under the column.
import type { TypeDiagnostic } from "./language-service.js";
import { formatPosition, type ErrorReport } from "./tracebacks.js";

export type TypecheckMode = "on" | "warn" | "off";

const RED = "\u001b[31m";
const RESET = "\u001b[0m";

export function typeErrorReport(label: string, source: string, diags: TypeDiagnostic[], mode: TypecheckMode): ErrorReport {
  const lines = source.split("\n");
  const first = diags[0]!;
  const more = diags.length > 1 ? ` (and ${diags.length - 1} more type error${diags.length > 2 ? "s" : ""})` : "";
  const traceback: string[] = [];
  for (const d of diags) {
    traceback.push(`${RED}TS${d.code}${RESET}: ${d.message}`, ...formatPosition({ label, line: d.line, column: d.column, sourceLine: lines[d.line - 1] ?? "" }));
  }
  traceback.push(mode === "on"
    ? "The cell did not run. Fix the types, or `%typecheck warn` to run cells despite type errors (`%typecheck off` skips the check)."
    : "Type errors (the cell runs anyway: %typecheck warn; `%typecheck on` stops such cells).");
  return {
    ename: "TypeScriptError",
    evalue: `TS${first.code}: ${first.message} (line ${first.line}, column ${first.column})${more}`,
    traceback,
  };
}
