#!/usr/bin/env -S npx tsx
import type { Command as CommanderCommand } from 'commander';
import { requestCommand } from '../client/cli';
import { mcpCommand } from '../client/commands/mcp';
import { listCommand, statusCommand } from '../client/commands/requests';
import { auditCommand, type CliIo, EXIT } from '../lambdas/compliance/audit-command';

/** A top-level command: `action-approvals <name> …`. */
interface Command {
  /** One line for the command list. */
  readonly summary: string;
  /** Gets the arguments after the command's name; resolves to the process exit code. */
  run(argv: readonly string[], io: CliIo): Promise<number>;
}

/** A commander command in this table: it sets `process.exitCode` when it fails. */
function fromCommander(make: () => CommanderCommand): Command {
  return {
    summary: make().description(),
    run: async (argv) => {
      await make().parseAsync([...argv], { from: 'user' });
      return Number(process.exitCode ?? 0);
    },
  };
}

const COMMANDS: Readonly<Record<string, Command>> = {
  audit: {
    summary: 'verify or query the audit trail from stream archives and table exports',
    run: auditCommand,
  },
  request: {
    summary: 'ask for one action as an agent and wait for its outcome',
    run: requestCommand,
  },
  mcp: fromCommander(mcpCommand),
  status: fromCommander(() => statusCommand()),
  list: fromCommander(() => listCommand()),
};

const USAGE = `Usage: action-approvals <command> …

Commands:
${Object.entries(COMMANDS)
  .map(([name, command]) => `  ${name.padEnd(10)} ${command.summary}`)
  .join('\n')}

Run "action-approvals <command> help" for a command's options.`;

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    io.stdout.write(`${USAGE}\n`);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    io.stderr.write(`action-approvals: unknown command "${name}"\n\n${USAGE}\n`);
    return EXIT.usage;
  }
  return command.run(rest, io);
}

if (require.main === module) {
  // A reader that has seen enough (`| head`) closes the pipe; that ends the output, not in a crash.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit();
  });
  main(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    stderrIsTerminal: process.stderr.isTTY === true,
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 70; // EX_SOFTWARE: a bug, not a finding
    },
  );
}
