// The mlx-ts cell language for CodeMirror 6: an outer parser that splits a cell into TypeScript runs,
// magic lines and `%%` bodies (cell-lines.ts), with JupyterLab's own TypeScript parser mounted on each
// TypeScript run. Magic text gets no node with a highlight tag, so it is drawn as plain text.
import { Language, LanguageSupport, defineLanguageFacet, languageDataProp } from "@codemirror/language";
import { NodeType, Parser, Tree, parseMixed, type Input, type PartialParse, type TreeFragment } from "@lezer/common";
import { cellSpans, type SpanKind } from "./cell-lines.js";

export const LANGUAGE_NAME = "mlx-ts";

const data = defineLanguageFacet({ commentTokens: { line: "//", block: { open: "/*", close: "*/" } } });

const TOP = NodeType.define({ id: 0, name: "MlxTsCell", top: true, props: [[languageDataProp, data]] });
const KINDS: Record<SpanKind, NodeType> = {
  code: NodeType.define({ id: 1, name: "TypeScriptRun" }),
  magic: NodeType.define({ id: 2, name: "MagicLine" }),
  body: NodeType.define({ id: 3, name: "MagicBody" }),
};

/** Builds the whole cell's tree at once: a cell is small, so there is nothing to gain from incremental steps. */
class CellParse implements PartialParse {
  parsedPos = 0;
  stoppedAt: number | null = null;

  constructor(
    private readonly input: Input,
    private readonly ranges: readonly { from: number; to: number }[],
  ) {}

  advance(): Tree {
    const from = this.ranges[0]?.from ?? 0;
    const to = this.ranges.at(-1)?.to ?? this.input.length;
    const spans = cellSpans(this.input.read(from, to));
    this.parsedPos = to;
    return new Tree(
      TOP,
      spans.map((s) => new Tree(KINDS[s.kind], [], [], s.to - s.from)),
      spans.map((s) => s.from + from),
      to,
    );
  }

  stopAt(pos: number): void {
    this.stoppedAt = pos;
  }
}

class CellParser extends Parser {
  constructor(private readonly typescript: Parser) {
    super();
  }

  createParse(input: Input, fragments: readonly TreeFragment[], ranges: readonly { from: number; to: number }[]): PartialParse {
    const nest = parseMixed((node) => (node.type === KINDS.code ? { parser: this.typescript } : null));
    return nest(new CellParse(input, ranges), input, fragments, ranges);
  }
}

/** The cell language over JupyterLab's TypeScript support (its parser, and its extras such as completion). */
export function cellLanguage(typescript: LanguageSupport): LanguageSupport {
  const language = new Language(data, new CellParser(typescript.language.parser), [], LANGUAGE_NAME);
  return new LanguageSupport(language, typescript.support);
}
