/** `autoresearch completion bash|zsh|fish`: a completion script made from this very program. */
import { Argument, type Command } from 'commander';
import { completionScript, SHELLS, type Shell } from '../completion.js';

export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .addArgument(new Argument('<shell>', 'the shell').choices(SHELLS))
    .description('print a shell completion script for commands, options and run tags')
    .addHelpText(
      'after',
      `
Examples:
  source <(autoresearch completion bash)    # this shell; add the line to ~/.bashrc for every one
  autoresearch completion zsh > "\${fpath[1]}/_autoresearch"
  autoresearch completion fish > ~/.config/fish/completions/autoresearch.fish`,
    )
    .action((shell: Shell) => {
      process.stdout.write(completionScript(program, shell));
    });
}
