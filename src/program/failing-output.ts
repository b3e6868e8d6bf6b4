/**
 * The failing part of a checks command's output: the failing assertions, not the runner's
 * summary. A TAP stream ends with "# pass 3 / # fail 1" and a 15-line tail shows only that; the
 * agent needs the assertion that failed and where. Pure: output text in, a bounded excerpt out.
 * Knows the common runners' shapes (node:test TAP and spec, jest, vitest, pytest, cargo test,
 * go test, compiler and lint errors, Python tracebacks) and falls back to the tail.
 */

type Runner = 'node-test' | 'jest' | 'vitest' | 'pytest' | 'cargo' | 'go' | 'errors' | 'tail';

export interface FailingPart {
  /** Which shape was recognized ('tail' when none was). */
  runner: Runner;
  /** The excerpt: failing blocks separated by blank lines, within the limits. */
  text: string;
  /** Failing blocks found (some may be left out of `text` to stay within the limits). */
  blocks: number;
}

export interface FailingLimits {
  /** At most this many lines in all (default 40). */
  maxLines?: number;
  /** At most this many characters in all (default 3000). */
  maxChars?: number;
  /** At most this many lines of one block (default 20). */
  blockLines?: number;
}

type Extractor = (lines: string[]) => string[][];

/** Most specific first: a jest run also prints "FAIL file" lines, a TAP stream may quote "E  ". */
const EXTRACTORS: Array<[Runner, Extractor]> = [
  ['node-test', (l) => nodeSpec(l) ?? tap(l)],
  ['jest', jest],
  ['vitest', vitest],
  ['pytest', pytest],
  ['cargo', cargo],
  ['go', goTest],
  ['errors', errors],
];

export function failingPart(output: string, limits: FailingLimits = {}): FailingPart {
  const maxLines = limits.maxLines ?? 40;
  const maxChars = limits.maxChars ?? 3000;
  const blockLines = limits.blockLines ?? 20;
  const lines = clean(output);
  for (const [runner, extract] of EXTRACTORS) {
    const blocks = extract(lines)
      .map((b) => trimBlank(b))
      .filter((b) => b.length > 0);
    if (blocks.length > 0)
      return {
        runner,
        text: assemble(blocks, maxLines, maxChars, blockLines),
        blocks: blocks.length,
      };
  }
  const tail = trimBlank(lines).slice(-Math.min(15, maxLines)).join('\n');
  return { runner: 'tail', text: tail.length > maxChars ? tail.slice(-maxChars) : tail, blocks: 0 };
}

/** Colors and carriage-return progress lines out; one string per line. */
function clean(output: string): string[] {
  return output
    .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '')
    .replace(/\r\n/g, '\n')
    .split('\n')
    .map((l) => (l.includes('\r') ? l.slice(l.lastIndexOf('\r') + 1) : l));
}

const indentOf = (line: string) => /^[ \t]*/.exec(line)![0].replace(/\t/g, '    ').length;
const blank = (line: string) => line.trim() === '';

function trimBlank(block: string[]): string[] {
  let a = 0;
  let b = block.length;
  while (a < b && blank(block[a]!)) a++;
  while (b > a && blank(block[b - 1]!)) b--;
  return block.slice(a, b);
}

/** Removes the block's common indentation, so nested TAP subtests read flush left. */
function dedent(block: string[]): string[] {
  const min = Math.min(...block.filter((l) => !blank(l)).map(indentOf));
  return block.map((l) => l.replace(/\t/g, '    ').slice(Math.min(min, indentOf(l))));
}

/** The lines after `start` that are blank or indented deeper than it. */
function indentedBlock(lines: string[], start: number): string[] {
  const base = indentOf(lines[start]!);
  let end = start + 1;
  while (end < lines.length && (blank(lines[end]!) || indentOf(lines[end]!) > base)) end++;
  return lines.slice(start, end);
}

/** The lines from `start` up to (not including) the first later line that `stop` matches. */
function until(lines: string[], start: number, stop: (line: string) => boolean): string[] {
  let end = start + 1;
  while (end < lines.length && !stop(lines[end]!)) end++;
  return lines.slice(start, end);
}

/** Stack frames inside the runtime or the runner itself: noise next to the test's own frame. */
const INTERNAL_FRAME =
  /\(?node:[a-z_]+[:/]|node_modules[\\/](vitest|@vitest|jest-|@jest|mocha)|\/rustc\/[0-9a-f]+\/library\/|\/src\/(runtime|testing)\//;

// ---- node:test -------------------------------------------------------------------------------

/** TAP: "not ok" blocks with their YAML diagnostics, less the suites that only say a subtest failed. */
function tap(lines: string[]): string[][] {
  const blocks: string[][] = [];
  lines.forEach((line, i) => {
    if (!/^\s*not ok \d+/.test(line) || /#\s*(SKIP|TODO)\b/i.test(line)) return;
    const block = indentedBlock(lines, i);
    if (block.some((l) => /failureType:\s*'subtestsFailed'/.test(l))) return;
    blocks.push(
      dedent(
        block.filter(
          (l) =>
            !/^\s*(duration_ms|type|failureType|code|name):|^\s*(---|\.\.\.)\s*$/.test(l) &&
            !INTERNAL_FRAME.test(l),
        ),
      ),
    );
  });
  return blocks;
}

/** The spec reporter repeats every failure under "✖ failing tests:" at the end. */
function nodeSpec(lines: string[]): string[][] | null {
  const start = lines.findIndex((l) => /^\s*✖ failing tests:\s*$/.test(l));
  if (start < 0) return null;
  const body = lines.slice(start + 1).filter((l) => !INTERNAL_FRAME.test(l));
  const blocks: string[][] = [];
  for (const line of body) {
    if (/^test at /.test(line) || blocks.length === 0) blocks.push([]);
    blocks.at(-1)!.push(line);
  }
  return blocks;
}

// ---- jest and vitest ---------------------------------------------------------------------------

const JEST_END = /^\s*(●\s|Test Suites:|Tests:|Snapshots:|(PASS|FAIL)\s)/;

/** jest: "● suite › test" blocks (the diff, the code frame, the test's own frame). */
function jest(lines: string[]): string[][] {
  const blocks: string[][] = [];
  lines.forEach((line, i) => {
    if (!/^\s*● /.test(line) || /^\s*● Console\s*$/.test(line)) return;
    blocks.push(
      dedent(until(lines, i, (l) => JEST_END.test(l)).filter((l) => !INTERNAL_FRAME.test(l))),
    );
  });
  return blocks;
}

/** A failed test ("FAIL file > suite > test") or file ("FAIL file [ file ]"); jest's "FAIL file" has neither. */
const VITEST_FAIL = /^\s*FAIL\s+\S.*( > |\[ )/;

/** vitest: "FAIL file > suite > test" blocks up to the "⎯⎯⎯" rule. */
function vitest(lines: string[]): string[][] {
  const blocks: string[][] = [];
  lines.forEach((line, i) => {
    if (!VITEST_FAIL.test(line)) return;
    const block = until(
      lines,
      i,
      (l) => /^\s*⎯{3,}/.test(l) || VITEST_FAIL.test(l) || /^\s*(Test Files|Tests)\s{2}/.test(l),
    );
    blocks.push([line.trim(), ...block.slice(1).filter((l) => !INTERNAL_FRAME.test(l))]);
  });
  return blocks;
}

// ---- pytest --------------------------------------------------------------------------------------

const PYTEST_SECTION = /^=+ (.+?) =+$/;
const PYTEST_HEADER = /^_{3,} (.+?) _{3,}$/;

/** pytest: per failure its header, the ">" source line, the "E" lines and where; then the short summary. */
function pytest(lines: string[]): string[][] {
  const blocks: string[][] = [];
  let section = '';
  let current: string[] | null = null;
  for (const line of lines) {
    const s = PYTEST_SECTION.exec(line);
    if (s) {
      section = s[1]!.toLowerCase();
      current = null;
      if (section === 'short test summary info') blocks.push((current = [line]));
      continue;
    }
    if (section === 'failures' || section === 'errors') {
      const h = PYTEST_HEADER.exec(line);
      if (h) blocks.push((current = [line]));
      else if (current && (/^(>|E) /.test(line) || /^\S+:\d+: \S/.test(line))) current.push(line);
    } else if (section === 'short test summary info' && current && /^(FAILED|ERROR) /.test(line))
      current.push(line);
  }
  return blocks.filter((b) => b.length > 1);
}

// ---- cargo test ----------------------------------------------------------------------------------

/** cargo test: "---- name stdout ----" blocks with the panic message, less backtraces; else "panicked at" lines. */
function cargo(lines: string[]): string[][] {
  const noise = (l: string) => /^stack backtrace:$|^\s+\d+: |^\s+at \S|^note: /.test(l);
  const blocks: string[][] = [];
  lines.forEach((line, i) => {
    if (!/^---- .+ stdout ----$/.test(line)) return;
    blocks.push(
      until(
        lines,
        i,
        (l) => /^---- .+ ----$/.test(l) || /^failures:$/.test(l) || /^test result:/.test(l),
      ).filter((l) => !noise(l)),
    );
  });
  if (blocks.length > 0) return blocks;
  lines.forEach((line, i) => {
    if (/ panicked at /.test(line)) blocks.push(lines.slice(i, i + 4).filter((l) => !noise(l)));
  });
  return blocks;
}

// ---- go test -------------------------------------------------------------------------------------

/** go test: "--- FAIL:" lines with the messages indented under them, and panics with the test's frames. */
function goTest(lines: string[]): string[][] {
  const blocks: string[][] = [];
  lines.forEach((line, i) => {
    const fail = /^\s*--- FAIL: (\S+)/.exec(line);
    if (fail) {
      // A parent test's block holds its subtests' blocks: keep only the innermost.
      const block = trimBlank(indentedBlock(lines, i));
      if (block.slice(1).some((l) => /^\s*--- FAIL: /.test(l))) return;
      // `go test -v` prints a test's messages before its result, under "=== RUN   name".
      blocks.push(
        block.length > 1 ? dedent(block) : [line.trim(), ...verboseMessages(lines, fail[1]!)],
      );
    } else if (/^panic: /.test(line)) {
      const head = until(lines, i, (l) => /^goroutine \d+ \[/.test(l));
      // The test's own frames (a function line, then its file:line), not the runtime's.
      const frames: string[] = [];
      for (let k = i + head.length + 1; k < lines.length && frames.length < 8; k++) {
        if (/\.go:\d+/.test(lines[k]!) && !INTERNAL_FRAME.test(lines[k]!))
          frames.push(lines[k - 1]!, lines[k]!);
      }
      blocks.push([...head, ...frames]);
    }
  });
  return blocks;
}

/** The messages `go test -v` printed for a test: indented lines after its "=== RUN" or "=== CONT". */
function verboseMessages(lines: string[], name: string): string[] {
  const out: string[] = [];
  lines.forEach((line, i) => {
    if (
      !new RegExp(`^=== (RUN|CONT)\\s+${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`).test(line)
    )
      return;
    for (
      let k = i + 1;
      k < lines.length && /^\s+\S/.test(lines[k]!) && !/^\s*--- /.test(lines[k]!);
      k++
    )
      out.push(`    ${lines[k]!.trim()}`);
  });
  return out;
}

// ---- compilers, linters, Python -------------------------------------------------------------------

/**
 * Errors without a test runner: rustc/cargo build "error[E...]:" blocks, TypeScript "error TS",
 * eslint "line:col error" lines (with their file), Python tracebacks (the last one, whole).
 */
function errors(lines: string[]): string[][] {
  const blocks: string[][] = [];
  let eslintFile: string | null = null;
  lines.forEach((line, i) => {
    if (
      /^error(\[E\d+\])?: /.test(line) &&
      !/^error: (test failed|could not compile|aborting due to)/.test(line)
    ) {
      blocks.push(until(lines, i, blank));
    } else if (/\berror TS\d+:/.test(line)) blocks.push([line]);
    else if (/^\S.*\.[cm]?[jt]sx?$/.test(line)) eslintFile = line;
    else if (/^\s+\d+:\d+\s+error\s/.test(line))
      blocks.push(eslintFile ? [eslintFile, line] : [line]);
  });
  if (blocks.length > 0) return blocks;
  let start = lines.length - 1;
  while (start >= 0 && !/^Traceback \(most recent call last\):/.test(lines[start]!)) start--;
  if (start >= 0) {
    // The traceback's frames are indented; the exception line that ends it is not.
    let end = start + 1;
    while (end < lines.length && (blank(lines[end]!) || /^\s/.test(lines[end]!))) end++;
    blocks.push(lines.slice(start, end + 1));
  }
  return blocks;
}

// ---- assembling ------------------------------------------------------------------------------------

/** Blocks in order, each cut to `blockLines`, until the limits; says how many were left out. */
function assemble(
  blocks: string[][],
  maxLines: number,
  maxChars: number,
  blockLines: number,
): string {
  const out: string[] = [];
  let chars = 0;
  let shown = 0;
  for (const block of blocks) {
    let b =
      block.length > blockLines
        ? [...block.slice(0, blockLines - 1), `  … (${block.length - blockLines + 1} more lines)`]
        : block;
    b = b.map((l) => (l.length > 300 ? `${l.slice(0, 297)}...` : l));
    const size = b.reduce((s, l) => s + l.length + 1, 0);
    const room = maxLines - out.length - (shown > 0 ? 1 : 0);
    if (shown > 0 && (b.length > room || chars + size > maxChars)) break;
    if (shown === 0 && (b.length > maxLines || size > maxChars)) b = fit(b, maxLines, maxChars);
    if (shown > 0) out.push('');
    out.push(...b);
    chars += size;
    shown++;
  }
  const left = blocks.length - shown;
  if (left > 0) out.push('', `(${left} more failing ${left === 1 ? 'block' : 'blocks'} left out)`);
  return out.join('\n');
}

/** The head of one block that fits, at whole lines. */
function fit(block: string[], maxLines: number, maxChars: number): string[] {
  const kept: string[] = [];
  let chars = 0;
  for (const line of block.slice(0, maxLines - 1)) {
    if (chars + line.length + 1 > maxChars - 40) break;
    kept.push(line);
    chars += line.length + 1;
  }
  return [...kept, '  … (cut to fit)'];
}
