// A loaded model: the native weights plus everything text-side (tokenizer, chat template, EOS ids).
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { basename, dirname, join, resolve as resolvePath } from "node:path";
import { ChatTemplate, endsInsideThink, noTemplateError } from "./chat-template.js";
import { fromNative } from "./errors.js";
import { TokenStream } from "./generation-stream.js";
import { BatchRunner, cannotJoinError, MovableRun, notBatchable, notBatchableError } from "./batch.js";
import { generateParams } from "./generate-params.js";
import { draftMismatch, type VocabularyFacts } from "./draft.js";
import type { Generations, ModelJob } from "./generations.js";
import { generationConfigFromGguf, type Json } from "./model-config.js";
import type { GgufMetadata, NativeModel, NativeModelInfo, NativeQuantizeReport } from "./native-types.js";
import type { ModelTokenizer } from "./tokenizer.js";
import {
  MlxTsError,
  type ChatMessage,
  type GenerateOptions,
  type GenerationResult,
  type GenerationStream,
  type LoadedModel,
  type PromptCacheInfo,
  type QuantizeOptions,
} from "./types.js";

/** Files of a source directory that belong with the weights when saving (config.json comes from the addon). */
const SIDE_FILES = [
  "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "vocab.json", "merges.txt",
  "tokenizer.model", "chat_template.jinja", "chat_template.json", "generation_config.json",
];

export interface SaveOptions {
  /** replace an existing non-empty directory */
  overwrite?: boolean;
}

export interface ModelParts {
  name: string;
  source: string;
  kind: "dir" | "gguf";
  native: NativeModel;
  tokenizer: ModelTokenizer;
  eosIds: number[];
  gguf?: GgufMetadata;
  /** the engine's set of running generations, which this model's streams join */
  generations?: Generations;
  /** the engine's loaded models by name (a speculative draft is looked up here) */
  lookup?: (name: string) => EngineModel | undefined;
  /** names of the loaded models, for the message when a draft is not among them */
  loadedNames?: () => string[];
}

export class EngineModel implements LoadedModel {
  readonly name: string;
  /** where the weights came from; after save(), the folder they were saved to */
  source: string;
  readonly eosTokenIds: readonly number[];
  private readonly native: NativeModel;
  private readonly tok: ModelTokenizer;
  private readonly template: ChatTemplate | undefined;
  private active: TokenStream | undefined;
  private busyWith: string | undefined;
  private disposed = false;
  private tokenizerVocab: number | undefined;
  /** batch: the batched generation of this model (made on first use) */
  private batchRunner: BatchRunner | undefined;
  /** batch: the running single-row generation, which a second one moves into a batch; why it cannot move, if so */
  private plainRun: MovableRun | undefined;
  private plainFixed: string | undefined;

  constructor(private readonly parts: ModelParts) {
    this.name = parts.name;
    this.source = parts.source;
    this.native = parts.native;
    this.tok = parts.tokenizer;
    this.eosTokenIds = parts.eosIds;
    this.template = parts.tokenizer.chatTemplate === undefined
      ? undefined
      : new ChatTemplate(parts.tokenizer.chatTemplate, { bosToken: parts.tokenizer.bosToken, eosToken: parts.tokenizer.eosToken }, parts.name);
  }

  get tokenizer(): ModelTokenizer {
    return this.tok;
  }

  /** The native model, for LoRA training and adapters (finetune.ts), which run beside generate(). */
  get nativeModel(): NativeModel {
    this.assertAlive();
    return this.native;
  }

  info(): NativeModelInfo {
    this.assertAlive();
    try {
      return this.native.info();
    } catch (e) {
      throw fromNative(e, `Reading info of ${this.name}`);
    }
  }

  tokenize(text: string): number[] {
    return this.tok.encode(text, true);
  }

  detokenize(tokens: number[]): string {
    return this.tok.decode(tokens);
  }

  applyChatTemplate(messages: ChatMessage[], opts: { enableThinking?: boolean } = {}): string {
    if (!this.template) throw noTemplateError(this.name);
    return this.template.render(messages, { addGenerationPrompt: true, enableThinking: opts.enableThinking });
  }

  /** Prompt token ids and the rendered text (undefined for raw prompts) for the options given. */
  promptTokens(prompt: string | ChatMessage[], opts: GenerateOptions = {}): { tokens: number[]; rendered?: string } {
    if (typeof prompt === "string" && opts.raw) {
      const text = opts.system === undefined ? prompt : `${opts.system}\n\n${prompt}`;
      return { tokens: this.tok.encode(text, true) };
    }
    const messages: ChatMessage[] = typeof prompt === "string" ? [{ role: "user", content: prompt }] : [...prompt];
    if (opts.system !== undefined && messages[0]?.role !== "system") messages.unshift({ role: "system", content: opts.system });
    const rendered = this.applyChatTemplate(messages, { enableThinking: opts.enableThinking });
    // The template writes BOS and the other special tokens itself (as apply_chat_template(tokenize=True) does).
    return { tokens: this.tok.encode(rendered, false), rendered };
  }

  stream(prompt: string | ChatMessage[], opts: GenerateOptions = {}): GenerationStream {
    this.assertAlive();
    // batch: asked for as a batch row, or started while a generation runs here: it joins the batch (the running
    // single-row one moves into it) instead of E_BUSY; one that cannot be a row gets E_BUSY saying why
    const running = this.active !== undefined || this.batchRunner?.busy === true;
    if (running && !opts.batch && notBatchable(opts) !== undefined) throw cannotJoinError(opts, this.name, undefined);
    if (opts.batch || running) return this.streamBatch([prompt], opts)[0]!;
    this.assertIdle("generate");
    const params = generateParams(opts, this.eosTokenIds);
    const draft = opts.draft === undefined ? undefined : this.draftModel(opts.draft);
    if (draft) params.draft = draft.native;
    const { tokens, rendered } = this.promptTokens(prompt, opts);
    if (tokens.length === 0) throw new MlxTsError("E_BAD_ARGUMENT", `The prompt for ${this.name} tokenized to nothing. Pass some text.`);
    const stream = new TokenStream({
      tokenizer: this.tok,
      promptTokens: tokens,
      eosIds: new Set(params.eosTokenIds),
      stop: opts.stop,
      startThinking: rendered !== undefined && endsInsideThink(rendered),
      signal: opts.signal,
      speculative: draft !== undefined,
      start: (onEvent) => {
        try {
          // batch: a MovableRun, so a generation started meanwhile can move this one into a batch
          const run = new MovableRun(tokens, params, (ev) => {
            const gen = this.native.generate(Int32Array.from(tokens), params, ev);
            return () => gen.cancel();
          }, onEvent);
          this.plainRun = run;
          this.plainFixed = notBatchable(opts);
          return () => run.cancel();
        } catch (e) {
          throw fromNative(e, `Starting generation on ${this.name}`);
        }
      },
      onSettled: () => {
        this.active = undefined;
        this.plainRun = undefined;
        this.plainFixed = undefined;
        if (draft && draft.active === stream) draft.active = undefined;
      },
    });
    // A stream that settled during construction (an already-aborted signal) leaves the model idle.
    if (!stream.isSettled) {
      this.active = stream;
      // The draft is locked for the run too: it cannot generate, quantize, save or be evicted meanwhile.
      if (draft) draft.active = stream;
      this.parts.generations?.track(stream, this.name, draft?.name);
    }
    return stream;
  }

  generate(prompt: string | ChatMessage[], opts: GenerateOptions = {}): Promise<GenerationResult> {
    try {
      const s = this.stream(prompt, opts);
      return s.result;
    } catch (e) {
      return Promise.reject(e);
    }
  }

  // batch: batched and continuous generation (engine/batch.ts)
  /** One stream per prompt, run as rows of one batch (joining the batch already running, if any). Everything is checked before any row starts. */
  streamBatch(prompts: (string | ChatMessage[])[], opts: GenerateOptions = {}): GenerationStream[] {
    this.assertAlive();
    if (!Array.isArray(prompts) || prompts.length === 0) {
      throw new MlxTsError("E_BAD_ARGUMENT", `A batch on ${this.name} needs an array of at least one prompt, got ${Array.isArray(prompts) ? "an empty array" : typeof prompts}. Pass e.g. ["Hi", "Hello"].`);
    }
    prompts.forEach((p, i) => {
      const empty = typeof p === "string" ? p.trim().length === 0 : !Array.isArray(p) || p.length === 0;
      if (empty) throw new MlxTsError("E_BAD_ARGUMENT", `Prompt ${i + 1} of ${prompts.length} in the batch for ${this.name} is empty. Give every row some text (or drop the empty one); nothing was started.`);
    });
    const refused = notBatchableError(opts, this.name);
    if (refused) throw refused;
    if (this.active && !this.plainRun) throw cannotJoinError(opts, this.name, "this model is the draft of a speculative generation on another model, which runs one row at a time");
    if (this.active && this.plainFixed !== undefined) throw cannotJoinError(opts, this.name, `it uses an option a batch cannot run: ${this.plainFixed}`);
    if (this.busyWith) throw new MlxTsError("E_BUSY", `Cannot generate on ${this.name}: a ${this.busyWith} is running on it. Wait for it to finish.`);
    const params = generateParams(opts, this.eosTokenIds);
    const rows = prompts.map((p, i) => {
      const { tokens, rendered } = this.promptTokens(p, opts);
      if (tokens.length === 0) throw new MlxTsError("E_BAD_ARGUMENT", `Prompt ${i + 1} of ${prompts.length} for ${this.name} tokenized to nothing. Pass some text.`);
      return { tokens, rendered };
    });
    const runner = (this.batchRunner ??= new BatchRunner(() => this.native, this.name));
    // The running single-row generation moves into the batch these rows start (a no-op once it has).
    this.plainRun?.moveTo(runner);
    return rows.map(({ tokens, rendered }) => {
      const stream = new TokenStream({
        tokenizer: this.tok,
        promptTokens: tokens,
        eosIds: new Set(params.eosTokenIds),
        stop: opts.stop,
        startThinking: rendered !== undefined && endsInsideThink(rendered),
        signal: opts.signal,
        start: (onEvent) => runner.add(tokens, params, onEvent),
      });
      if (!stream.isSettled) this.parts.generations?.track(stream, this.name);
      return stream;
    });
  }

  /** One result per prompt, in order (each with its text and stats, stats.batchSize included). */
  async generateBatch(prompts: (string | ChatMessage[])[], opts: GenerateOptions = {}): Promise<GenerationResult[]> {
    const streams = this.streamBatch(prompts, opts);
    const results = await Promise.all(streams.map((s) => s.result));
    // When these were the batch's only rows, wait for it to free the model, so the next generation runs alone.
    if (this.batchRunner && this.batchRunner.rows === 0) await this.batchRunner.ended();
    return results;
  }

  /** The loaded model `name` checked as a speculative draft for this one (E_NOT_LOADED, E_BAD_ARGUMENT, E_BUSY). */
  private draftModel(name: string): EngineModel {
    if (name === this.name) {
      throw new MlxTsError("E_BAD_ARGUMENT", `The draft ${name} is the target model itself. Load a smaller model with the same tokenizer (e.g. \`%load PATH --as small\`) and pass its name.`);
    }
    const draft = this.parts.lookup?.(name);
    if (!draft) {
      const loaded = this.parts.loadedNames?.() ?? [];
      throw new MlxTsError("E_NOT_LOADED", `The draft model ${name} is not loaded (loaded: ${loaded.length ? loaded.join(", ") : "none"}). Load it first, e.g. \`%load PATH --as ${name}\`.`);
    }
    draft.assertAlive();
    if (draft.active) throw new MlxTsError("E_BUSY", `Cannot use ${name} as the draft for ${this.name}: a generation is running on it. Wait for it, or cancel it first.`);
    if (draft.busyWith) throw new MlxTsError("E_BUSY", `Cannot use ${name} as the draft for ${this.name}: a ${draft.busyWith} is running on it. Wait for it to finish.`);
    const err = draftMismatch(this.vocabularyFacts(), draft.vocabularyFacts());
    if (err) throw err;
    return draft;
  }

  private vocabularyFacts(): VocabularyFacts {
    this.tokenizerVocab ??= this.tok.vocabSize;
    return { name: this.name, embeddingRows: this.info().vocabSize, tokenizerVocab: this.tokenizerVocab, eosTokenIds: this.eosTokenIds };
  }

  /** Counts `job` (a fine-tuning run) as running on this model, so an interrupt cancels it and waits for it. */
  track(job: ModelJob): void {
    this.parts.generations?.track(job, this.name);
  }

  /** Cancels the running generation, if any (used by unload and interrupts). */
  cancelGeneration(): void {
    this.active?.cancel();
    this.batchRunner?.cancelAll();
  }

  async logits(tokens: number[], opts: { positions?: number } = {}): Promise<Float32Array> {
    this.assertAlive();
    const positions = opts.positions ?? 1;
    if (!Number.isInteger(positions) || positions < 1 || positions > tokens.length) {
      throw new MlxTsError("E_BAD_ARGUMENT", `logits: positions must be an integer from 1 to the number of tokens (${tokens.length}), got ${String(positions)}. Pass e.g. { positions: 1 } for the last position only.`);
    }
    try {
      return await this.native.logits(Int32Array.from(tokens), positions);
    } catch (e) {
      throw fromNative(e, `Computing logits on ${this.name}`);
    }
  }

  async quantize(opts: QuantizeOptions): Promise<NativeQuantizeReport> {
    this.assertAlive();
    this.assertIdle("quantize");
    this.busyWith = "quantize";
    try {
      return await this.native.quantize({ bits: opts.bits, groupSize: opts.groupSize ?? 64, mode: opts.mode ?? "affine" });
    } catch (e) {
      throw fromNative(e, `Quantizing ${this.name} to ${opts.bits} bits`);
    } finally {
      this.busyWith = undefined;
    }
  }

  async save(dir: string, opts: SaveOptions = {}): Promise<void> {
    this.assertAlive();
    this.assertIdle("save");
    const target = resolvePath(dir);
    if (existsSync(target)) {
      if (!statSync(target).isDirectory()) throw new MlxTsError("E_BAD_ARGUMENT", `${target} exists and is a file. Choose a directory path to save ${this.name} into.`);
      if (readdirSync(target).length > 0 && !opts.overwrite) {
        throw new MlxTsError("E_BAD_ARGUMENT", `${target} exists and is not empty; nothing was written. Choose another directory or pass { overwrite: true } to save().`);
      }
    }
    mkdirSync(dirname(target), { recursive: true });
    // mkdtemp makes 0700; the saved folder gets the mode a plain mkdir would (0755 under umask 0022).
    const tmp = join(dirname(target), `${basename(target)}.tmp-${randomUUID().slice(0, 8)}`);
    mkdirSync(tmp);
    this.busyWith = "save";
    try {
      try {
        await this.native.save(tmp);
      } catch (e) {
        throw fromNative(e, `Saving ${this.name} to ${target}`);
      }
      this.writeTokenizerFiles(tmp);
      if (existsSync(target)) {
        // Swap in: the old directory is moved aside first so the target is never half-written.
        const old = mkdtempSync(join(dirname(target), `${basename(target)}.old-`));
        renameSync(target, join(old, "dir"));
        renameSync(tmp, target);
        rmSync(old, { recursive: true, force: true });
      } else renameSync(tmp, target);
      // The weights in memory are now the saved folder's: that is where reloading them would start.
      this.source = target;
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      if (e instanceof MlxTsError) throw e;
      throw new MlxTsError("E_BAD_ARGUMENT", `Saving ${this.name} to ${target} failed: ${(e as Error).message}. Nothing was left at ${target}; check the path and free disk space.`, { cause: e });
    } finally {
      this.busyWith = undefined;
    }
  }

  resetCache(): void {
    this.assertAlive();
    this.native.resetCache();
  }

  async savePromptCache(file: string): Promise<PromptCacheInfo> {
    this.assertAlive();
    this.assertIdle("savePromptCache");
    const path = resolvePath(file);
    // mlx-lm's generate reads "model" (to load it) and "tokenizer_config" from a prompt cache's metadata.
    const metadata = { model: this.source, tokenizer_config: "{}" };
    try {
      return { file: path, ...(await this.native.savePromptCache(path, metadata)), metadata };
    } catch (e) {
      throw fromNative(e, `Saving the prompt cache of ${this.name} to ${path}`);
    }
  }

  async loadPromptCache(file: string): Promise<PromptCacheInfo> {
    this.assertAlive();
    this.assertIdle("loadPromptCache");
    const path = resolvePath(file);
    try {
      return { file: path, ...(await this.native.loadPromptCache(path)) };
    } catch (e) {
      throw fromNative(e, `Loading the prompt cache ${path} into ${this.name}`);
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.cancelGeneration();
    this.disposed = true;
    this.native.dispose();
  }

  private writeTokenizerFiles(dir: string): void {
    if (this.parts.kind === "dir") {
      for (const f of SIDE_FILES) {
        const from = join(this.parts.source, f);
        if (existsSync(from)) copyFileSync(from, join(dir, f));
      }
      return;
    }
    const json = (name: string, v: Json): void => writeFileSync(join(dir, name), `${JSON.stringify(v, null, 2)}\n`);
    json("tokenizer.json", this.tok.files.tokenizerJson);
    json("tokenizer_config.json", this.tok.files.tokenizerConfig);
    if (this.parts.gguf) json("generation_config.json", generationConfigFromGguf(this.parts.gguf));
  }

  private assertAlive(): void {
    if (this.disposed) throw new MlxTsError("E_NOT_LOADED", `${this.name} was unloaded; its weights are gone. Load it again with %load.`);
  }

  private assertIdle(what: string): void {
    if (this.batchRunner?.busy) throw new MlxTsError("E_BUSY", `Cannot ${what} on ${this.name}: a batched generation is running on it. Wait for it, or cancel it first.`);
    if (this.active) throw new MlxTsError("E_BUSY", `Cannot ${what} on ${this.name}: a generation is running on it. Wait for it, or cancel it first.`);
    if (this.busyWith) throw new MlxTsError("E_BUSY", `Cannot ${what} on ${this.name}: a ${this.busyWith} is running on it. Wait for it to finish.`);
  }
}
