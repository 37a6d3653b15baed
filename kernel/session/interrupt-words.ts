// The shared Int32 words the interrupter's main thread and its three worker threads talk through, and
// what each worker gets as workerData. The workers import this file for its types only, so they load with
// no module of ours beside them (see interrupt-workers.ts).

export const WORDS = {
  /** SIGINTs the listeners took (both add to it) */
  TAKEN: 0,
  /** SIGINTs the main thread has handled */
  ACK: 1,
  /** 1 while the session allows terminating the main thread's JavaScript (a cell may run, no promise hooks) */
  ALLOW: 2,
  /** 1 makes the workers exit */
  STOP: 3,
  /** listeners armed in breakOnSigint right now */
  ARMED: 4,
  /** terminations sent, and terminations skipped because of what was on the main thread's stack */
  TERMINATED: 5,
  SKIPPED: 6,
  /** listeners ready to arm: each waits for the others, so none is ever the only one armed for long */
  READY: 7,
} as const;
export const WORD_COUNT = 8;

export type Words = typeof WORDS;

export interface ListenerData {
  buffer: SharedArrayBuffer;
  words: Words;
  /** how many listeners there are (they arm together) */
  listeners: number;
}

export interface TerminatorData {
  buffer: SharedArrayBuffer;
  words: Words;
  /** how long the main thread may take to answer a SIGINT before its JavaScript is stopped */
  ackTimeoutMs: number;
  /** between attempts while the main thread's stack is not safe to unwind, and when to give up */
  retryMs: number;
  giveUpMs: number;
  /** source of a RegExp matching the url of a cell's script (the session names them) */
  cellUrl: string;
}

/** What the terminator posts to the main thread: `count` SIGINTs were taken since its last message. */
export interface SigintMessage {
  type: "sigint";
  count: number;
}
