/**
 * What a command may touch: two output streams, the working directory and the
 * environment. `main.ts` passes the process's; tests pass buffers and a temp dir.
 */
export interface Writer {
  write(text: string): unknown;
}

export interface CliIo {
  readonly stdout: Writer;
  readonly stderr: Writer;
  /** Paths on the command line (and in problems printed) are relative to this. @default process.cwd() */
  readonly cwd?: string;
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/** Exit codes scripts can rely on. */
export const EXIT = {
  ok: 0,
  /** Invalid journeys/config/events, a refused event (4xx), rejected events in a simulation. */
  failed: 1,
  /** Unknown command or option, a missing or malformed argument. */
  usage: 2,
  /** The engine did not answer (connection refused, DNS, timeout). */
  unreachable: 3,
  /** `rapport plan`: something changed (0: nothing did). */
  changed: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The resolved context every command runs with. */
export interface Context {
  readonly out: (line?: string) => void;
  readonly err: (line?: string) => void;
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
}

export function contextOf(io: CliIo): Context {
  return {
    out: (line = '') => void io.stdout.write(`${line}\n`),
    err: (line = '') => void io.stderr.write(`${line}\n`),
    cwd: io.cwd ?? process.cwd(),
    env: io.env ?? process.env,
  };
}

/** Thrown for a usage error: printed with a pointer to `--help`, exit 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Thrown when a command has already printed why it failed, to end with `code`. */
export class CommandFailed extends Error {
  constructor(readonly code: ExitCode) {
    super(`exit ${code}`);
    this.name = 'CommandFailed';
  }
}
