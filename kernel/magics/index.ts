// Loads every magic. Built-ins (%lsmagic, %help) are here; the others live in one file each and
// register themselves when imported below.
import { closeMagicNames, findMagic, listMagics, registerMagic, type Magic } from "./registry.js";

import "./engine-magics.js";
import "./typecheck.js";
import "./fuse.js";

export { closeMagicNames, findMagic, listMagics, magicAt, registerMagic } from "./registry.js";
export type { Magic, MagicContext } from "./registry.js";

const prefix = (m: Magic): string => (m.kind === "cell" ? "%%" : "%");

registerMagic({
  name: "lsmagic",
  kind: "line",
  summary: "List the available magics",
  usage: "%lsmagic\n\nLists every line magic (%name) and cell magic (%%name) with a one-line summary.",
  run(_args, _body, ctx) {
    const all = listMagics();
    const width = Math.max(...all.map((m) => prefix(m).length + m.name.length));
    const lines = (kind: Magic["kind"]): string[] =>
      all.filter((m) => m.kind === kind).map((m) => `  ${(prefix(m) + m.name).padEnd(width)}  ${m.summary}`);
    const text = ["Line magics:", ...lines("line"), "", "Cell magics:", ...(lines("cell").length ? lines("cell") : ["  (none)"]), "",
      "%help NAME or %NAME --help shows the usage of one."].join("\n");
    ctx.sink.stream("stdout", text + "\n");
    return undefined;
  },
});

registerMagic({
  name: "help",
  kind: "line",
  summary: "Show the usage of a magic: %help NAME",
  usage: "%help [NAME]\n\nShows the usage of the magic NAME (with or without its % or %%); without NAME, lists the magics.",
  complete(typed) {
    const cur = typed.trim().replace(/^%+/, "");
    if (/\s/.test(typed.trim())) return [];
    return [...new Set(listMagics().map((m) => m.name))].filter((n) => n.startsWith(cur)).sort();
  },
  run(args, body, ctx) {
    const name = args.trim().replace(/^%+/, "");
    if (!name) return findMagic("line", "lsmagic")!.run("", body, ctx);
    const found = [findMagic("line", name), findMagic("cell", name)].filter((m): m is Magic => !!m);
    if (!found.length) {
      const close = closeMagicNames(name);
      throw Object.assign(new Error(`No magic named "${name}".${close.length ? ` Did you mean: ${close.map((n) => "%" + n).join(", ")}?` : ""} %lsmagic lists them all.`), { name: "UsageError" });
    }
    ctx.sink.stream("stdout", found.map((m) => `${prefix(m)}${m.name}: ${m.summary}\n\n${m.usage}`).join("\n\n") + "\n");
    return undefined;
  },
});
