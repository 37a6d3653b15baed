// %%chat: a multi-turn conversation per model, kept in the session. Each turn re-renders the whole
// conversation; the engine reuses the KV cache for the prefix it shares with the previous turn, and
// the stats line shows how many prompt tokens were reused.
import type { ChatMessage } from "../engine/types.js";
import { MagicArgError } from "../util/args.js";
import { bool, defineMagic, str } from "./define.js";
import { DRAFT_FLAGS, SAMPLING_FLAGS, draftOptions, samplingOptions } from "./generate.js";
import { KV_CACHE_FLAGS, kvCacheOptions } from "./kv-flags.js";
import { residentModel } from "./resident.js";
import { stateOf } from "./state.js";
import { publishResult, streamIntoView } from "./stream-view.js";

defineMagic({
  spec: {
    name: "chat",
    kind: "cell",
    summary: "One turn of a multi-turn conversation kept in the session (the prompt cache is reused between turns)",
    flags: [
      { name: "model", type: "string", help: "model to chat with (default: the most recently loaded)", metavar: "NAME" },
      { name: "reset", type: "bool", help: "start a new conversation" },
      { name: "system", type: "string", help: "system message (starts a new conversation)", metavar: "TEXT" },
      ...SAMPLING_FLAGS,
      ...KV_CACHE_FLAGS,
      ...DRAFT_FLAGS,
    ],
    examples: ["(the turns so far stay in the global chatHistory, the last reply in lastGeneration)", "%%chat --system \"You are terse.\"\nWhat is MLX?", "%%chat\nAnd in one word?", "%%chat --reset"],
  },
  modelFlags: ["model", "draft"],
  async run(a, body, ctx) {
    const engine = await ctx.engine();
    const { model, note } = await residentModel(ctx, engine, { model: str(a, "model") }, "%%chat");
    const chats = stateOf(engine).chats;
    const system = str(a, "system");
    if (bool(a, "reset") || system !== undefined) chats.delete(model.name);
    const text = (body ?? "").trim();
    if (!text) {
      if (bool(a, "reset") || system !== undefined) {
        if (system !== undefined) chats.set(model.name, { system, messages: [] });
        ctx.sink.stream("stdout", `New conversation with ${model.name}${system !== undefined ? " (system message set)" : ""}.\n`);
        return undefined;
      }
      throw new MagicArgError("%%chat: the cell body is your message and it is empty. Write it on the lines below %%chat (or use --reset to start over).");
    }
    const conv = chats.get(model.name) ?? { ...(system !== undefined ? { system } : {}), messages: [] };
    chats.set(model.name, conv);
    const messages: ChatMessage[] = [
      ...(conv.system !== undefined ? [{ role: "system" as const, content: conv.system }] : []),
      ...conv.messages,
      { role: "user", content: text },
    ];
    const result = await streamIntoView(ctx, model, messages, { ...samplingOptions(a), ...kvCacheOptions(a), ...draftOptions(a) }, note);
    // An interrupted turn is not kept: the conversation stays as it was before this cell.
    if (result.stats.stopReason !== "cancelled") {
      conv.messages.push({ role: "user", content: text }, { role: "assistant", content: result.answer.trim() });
    }
    publishResult(ctx, result);
    ctx.globals.chatHistory = conv.messages;
    return undefined;
  },
});
