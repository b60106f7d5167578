/**
 * `rapport <command> ...`: parse, dispatch, map failures to exit codes.
 * In process and side-effect free apart from what the command does, so tests
 * call `run(argv, { stdout, stderr, cwd })` directly.
 */
import { parseArgs } from 'node:util';
import { COMMANDS, GLOBAL_HELP, type CommandSpec, type Parsed } from './commands';
import { CommandFailed, contextOf, EXIT, UsageError, type CliIo, type ExitCode } from './io';

export { EXIT, type CliIo, type ExitCode } from './io';

export async function run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const ctx = contextOf(io);
  const [name, ...rest] = argv;
  if (name === undefined) {
    ctx.err(GLOBAL_HELP);
    return EXIT.usage;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const spec = rest[0] === undefined ? undefined : COMMANDS.find((c) => c.name === rest[0]);
    if (rest[0] !== undefined && !spec) return usage(ctx, `unknown command "${rest[0]}"`);
    ctx.out(spec ? spec.help : GLOBAL_HELP);
    return EXIT.ok;
  }
  const spec = COMMANDS.find((c) => c.name === name);
  if (!spec) return usage(ctx, name.startsWith('-') ? `expected a command before ${name}` : `unknown command "${name}"`);

  try {
    const args = parse(spec, rest);
    if (args.values.help === true) {
      ctx.out(spec.help);
      return EXIT.ok;
    }
    const command = await spec.load();
    return await command.execute(args, ctx);
  } catch (error) {
    if (error instanceof UsageError) return usage(ctx, error.message, spec);
    if (error instanceof CommandFailed) return error.code;
    ctx.err(`rapport ${spec.name}: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT.failed;
  }
}

function usage(ctx: ReturnType<typeof contextOf>, message: string, spec?: CommandSpec): ExitCode {
  ctx.err(`rapport${spec ? ` ${spec.name}` : ''}: ${message}`);
  ctx.err(spec ? `Run \`rapport ${spec.name} --help\` for its options.` : `Commands: ${COMMANDS.map((c) => c.name).join(', ')}. Run \`rapport --help\` for more.`);
  return EXIT.usage;
}

function parse(spec: CommandSpec, argv: string[]): Parsed {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options: spec.options, strict: true, allowPositionals: true });
  } catch (error) {
    // parseArgs explains itself ("Unknown option '--x'", "Option '--dir <value>' argument missing"); drop its hint about "--".
    throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  const values = parsed.values as Parsed['values'];
  if (values.help === true) return { values, positionals: parsed.positionals };
  const [min, max] = spec.positionals;
  if (parsed.positionals.length < min) throw new UsageError(`missing argument; usage: ${spec.help.split('\n')[0]!.replace(/^Usage: /, '')}`);
  if (parsed.positionals.length > max) throw new UsageError(`unexpected argument "${parsed.positionals[max]}"`);
  return { values, positionals: parsed.positionals };
}
