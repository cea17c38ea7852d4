#!/usr/bin/env -S npx tsx
import { Command } from 'commander';
import { registerRequestCommand, runProgram } from '../client/cli';
import { type CliIo, EXIT, registerAuditCommands } from '../lambdas/compliance/audit-command';
import { mcpCommand } from '../client/commands/mcp';
import { listCommand, statusCommand } from '../client/commands/requests';

/**
 * The `action-approvals` program: each command group registers itself from its own module, so a
 * new group is one `register…(program, io, exit)` line here.
 */
export function createProgram(io: CliIo, exit: (code: number) => void): Command {
  const program = new Command('action-approvals')
    .description('zero standing privilege for AI agents on AWS: requests, approvals and their audit trail')
    .addHelpText('after', '\nRun "action-approvals <command> --help" for a command’s options.');
  registerAuditCommands(program, io, exit);
  registerRequestCommand(program, io, exit);
  // These set process.exitCode when they fail (main reads it).
  program.addCommand(mcpCommand());
  program.addCommand(statusCommand(io));
  program.addCommand(listCommand(io));
  return program;
}

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let code: number = EXIT.ok;
  const program = createProgram(io, (chosen) => {
    code = chosen;
  });
  return runProgram(program, argv, io, () => code || Number(process.exitCode ?? EXIT.ok));
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
      // A bug, not a finding about the trail: one line that says so, and EX_SOFTWARE.
      const message = error instanceof Error ? error.message : String(error);
      process.stderr.write(`action-approvals: internal error: ${message.split('\n')[0]}\n`);
      process.exitCode = EXIT.internalError;
    },
  );
}
