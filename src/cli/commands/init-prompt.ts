/**
 * Questions on a terminal or on a pipe, one answer per line. A single readline interface reads
 * stdin for the whole session, through its async iterator, which buffers lines: answers piped in
 * all at once are each given to the question they belong to, never dropped between questions.
 * When the input ends, every later question takes its default.
 */
import { createInterface, type Interface } from 'node:readline';

export class Prompter {
  private readonly rl: Interface;
  private readonly lines: AsyncIterator<string>;
  private ended = false;

  constructor(
    private readonly input: NodeJS.ReadableStream & { isTTY?: boolean },
    private readonly output: NodeJS.WritableStream,
  ) {
    this.rl = createInterface({ input, output, terminal: Boolean(input.isTTY) });
    this.lines = this.rl[Symbol.asyncIterator]();
  }

  /**
   * The answer, trimmed; `fallback` for an empty answer or once the input has ended. `shown`
   * names the fallback in the question when it is too long to show itself.
   */
  async ask(question: string, fallback?: string, shown = fallback): Promise<string | undefined> {
    const prompt = `${question}${shown ? ` [${shown}]` : ''}: `;
    if (this.ended) {
      this.output.write(`${prompt}${shown ?? ''}\n`);
      return fallback;
    }
    this.rl.setPrompt(prompt);
    this.rl.prompt();
    const next = await this.lines.next();
    if (next.done) this.ended = true;
    const answer = next.done ? '' : next.value.trim();
    // A piped answer is not echoed by a terminal: show it, so the transcript reads as a dialogue.
    if (!this.input.isTTY) this.output.write(`${answer || (shown ?? '')}\n`);
    return answer || fallback;
  }

  close(): void {
    this.rl.close();
  }
}
