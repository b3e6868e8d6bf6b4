/**
 * Reading and rewriting the one assignment per param that the tune agent owns. A rewrite changes
 * only the literal's characters on that line: indentation, `const`/`export`, type annotations,
 * `;`, trailing comments, quote style, boolean spelling, the form of a size (`2**19`) and CRLF
 * endings all survive, so the diff an experiment commits is exactly the parameter change and
 * nothing else.
 */
import {
  assignmentPattern,
  formatNumber,
  formatString,
  isFloatLiteral,
  joinLines,
  literalAfter,
  looksPython,
  splitLines,
} from './literals.js';
import { rewriteExpression } from './expressions.js';
import { SearchSpaceError, type ParamValue } from './space.js';

export interface Assignment {
  /** 1-based line number. */
  line: number;
  /** The literal exactly as written (`0.04`, `'relu'`, `True`, `1_000`). */
  raw: string;
  value: ParamValue;
  /** Set for string literals. */
  quote?: '"' | "'";
}

interface Located extends Assignment {
  index: number;
  start: number;
}

function locate(text: string, name: string): Located | null {
  const lines = splitLines(text);
  const pattern = assignmentPattern(name);
  const hits: number[] = [];
  lines.forEach((l, i) => {
    if (!l.inBlock && pattern.test(l.text)) hits.push(i);
  });
  if (hits.length === 0) return null;
  if (hits.length > 1) {
    // Rewriting one of several assignments would leave the effective value unclear.
    throw new SearchSpaceError(
      `${name} is assigned ${hits.length} times (lines ${hits.map((h) => h + 1).join(', ')}); ` +
        `the tune agent rewrites exactly one assignment: keep a single \`${name} = <literal>\` and refer to ${name} elsewhere`,
      name,
    );
  }
  const index = hits[0]!;
  const text0 = lines[index]!.text;
  const prefix = pattern.exec(text0)!;
  const lit = literalAfter(text0, prefix[0].length);
  if (!lit) {
    const written = text0.slice(prefix[0].length).trim();
    throw new SearchSpaceError(
      `${name} on line ${index + 1} is assigned \`${written}\`, which is not a literal; ` +
        `write a plain number, string or boolean (e.g. \`${name} = 0.01\`), or a size such as \`2**19\`, \`1 << 10\` or \`512 * 1024\`, so the tune agent can rewrite it`,
      name,
    );
  }
  const a: Located = { line: index + 1, raw: lit.raw, value: lit.value, index, start: lit.start };
  if (lit.quote) a.quote = lit.quote;
  return a;
}

/**
 * The single literal assignment of `name`, or null when the file does not assign it. Throws
 * SearchSpaceError when it is assigned more than once or to something other than a literal.
 */
export function readAssignment(text: string, name: string): Assignment | null {
  const a = locate(text, name);
  if (!a) return null;
  const out: Assignment = { line: a.line, raw: a.raw, value: a.value };
  if (a.quote) out.quote = a.quote;
  return out;
}

/** `text` with the literal assigned to `name` replaced by `value`; every other byte unchanged. */
export function rewriteAssignment(text: string, name: string, value: ParamValue): string {
  const a = locate(text, name);
  if (!a) {
    throw new SearchSpaceError(
      `cannot rewrite ${name}: no \`${name} = <literal>\` assignment in the file`,
      name,
    );
  }
  const lines = splitLines(text);
  const line = lines[a.index]!;
  const literal = formatLiteral(value, a, text);
  line.text = line.text.slice(0, a.start) + literal + line.text.slice(a.start + a.raw.length);
  return joinLines(lines);
}

/** The new literal, written in the style of the one it replaces. */
function formatLiteral(value: ParamValue, old: Assignment, text: string): string {
  if (typeof value === 'boolean') {
    const python =
      old.raw === 'True' || old.raw === 'False'
        ? true
        : old.raw === 'true' || old.raw === 'false'
          ? false
          : looksPython(text);
    return python ? (value ? 'True' : 'False') : String(value);
  }
  if (typeof value === 'string') return formatString(value, old.quote ?? '"');
  // `2**19` becomes `2**20`, `512 * 1024` becomes `256 * 1024`: the form the author chose.
  const expression = rewriteExpression(old.raw, value);
  if (expression !== null) return expression;
  // A float written `4.0` stays a float in Python (`5.0`, not `5`), which can matter for the program.
  return formatNumber(value, isFloatLiteral(old.raw));
}
