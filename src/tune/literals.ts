/**
 * Line-level scanning of Python / JavaScript / TypeScript source for `NAME = <literal>`
 * assignments (a literal: a number, string or boolean, or a constant size such as `2**19`). Deliberately regex-based rather than a parser: the tune agent has to edit files in
 * any of these languages, only ever touches one literal on one line, and must leave every other
 * byte alone, which is easier to guarantee with a line scanner than with a reprinting parser.
 */
import { evaluateExpression, isExpression } from './expressions.js';
import type { ParamValue } from './space.js';

/** One line of a file, without its terminator; `cr` records a CRLF ending so it can be restored. */
export interface SourceLine {
  text: string;
  cr: boolean;
  /** Inside a block comment or Python triple-quoted string: never an assignment. */
  inBlock: boolean;
}

export function splitLines(text: string): SourceLine[] {
  const lines: SourceLine[] = [];
  let block: string | null = null; // the token that closes the open block, if any
  for (const raw of text.split('\n')) {
    const cr = raw.endsWith('\r');
    const line = cr ? raw.slice(0, -1) : raw;
    const startsInBlock = block !== null;
    block = advanceBlock(line, block);
    lines.push({ text: line, cr, inBlock: startsInBlock });
  }
  return lines;
}

export function joinLines(lines: SourceLine[]): string {
  return lines.map((l) => (l.cr ? `${l.text}\r` : l.text)).join('\n');
}

/** Tracks `/* ... *\/` and `"""` / `'''` blocks well enough to skip commented-out assignments. */
function advanceBlock(line: string, block: string | null): string | null {
  let i = 0;
  while (i < line.length) {
    if (block !== null) {
      const end = line.indexOf(block, i);
      if (end < 0) return block;
      i = end + block.length;
      block = null;
      continue;
    }
    const rest = line.slice(i);
    if (rest.startsWith('//') || rest.startsWith('#')) return null;
    const opener = ['/*', '"""', "'''"].find((t) => rest.startsWith(t));
    if (opener) {
      block = opener === '/*' ? '*/' : opener;
      i += opener.length;
      continue;
    }
    // Skip ordinary string literals so that a `#` or `/*` inside them is not taken as a comment.
    const q = line[i];
    if (q === '"' || q === "'" || q === '`') {
      let j = i + 1;
      while (j < line.length && line[j] !== q) j += line[j] === '\\' ? 2 : 1;
      i = j + 1;
      continue;
    }
    i++;
  }
  return block;
}

const DECL = String.raw`(?:export[ \t]+)?(?:declare[ \t]+)?(?:const|let|var)[ \t]+`;
// An optional type annotation (`: number`, `: float`), then `=` that is not `==` or `=>`.
const ANNOT_EQ = String.raw`([ \t]*:[^=\n]*?)?[ \t]*=(?![=>])`;
const NUMBER = String.raw`[+-]?(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?`;
const STRING = String.raw`'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"`;
const BOOL = String.raw`(?:true|false|True|False)(?![\w$])`;
// Constant integer expressions people write for sizes: `2**19`, `1 << 10`, `512 * 1024`.
const EXPRESSION = String.raw`\d+[ \t]*(?:\*\*|<<)[ \t]*\d+|\d+(?:[ \t]*\*[ \t]*\d+)+`;
// What may follow the literal: `as const`, `;`, and a trailing comment.
const TAIL = String.raw`[ \t]*(?:as[ \t]+const[ \t]*)?;?[ \t]*(?:(?:\/\/|#).*|\/\*.*)?$`;

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Lines that assign `name` at all (literal or not): used for ambiguity and "not a literal" errors. */
export function assignmentPattern(name: string): RegExp {
  return new RegExp(String.raw`^([ \t]*(?:${DECL})?)${escapeRegex(name)}${ANNOT_EQ}`);
}

const ANY_ASSIGNMENT = new RegExp(String.raw`^[ \t]*(?:${DECL})?([A-Za-z_$][\w$]*)${ANNOT_EQ}`);
const LITERAL_AT_START = new RegExp(
  String.raw`^[ \t]*(${EXPRESSION}|${NUMBER}|${STRING}|${BOOL})(?=${TAIL})`,
);

// Words that can start a line followed by `:` in Python and would otherwise look like annotations.
const NOT_NAMES = new Set([
  'else',
  'try',
  'finally',
  'lambda',
  'return',
  'case',
  'default',
  'if',
  'elif',
  'while',
  'for',
  'with',
]);

/** Identifiers assigned anywhere in the file, in first-seen order (for "did you mean" hints). */
export function listAssignedNames(text: string): string[] {
  const seen = new Set<string>();
  for (const line of splitLines(text)) {
    if (line.inBlock) continue;
    const m = ANY_ASSIGNMENT.exec(line.text);
    if (m && !NOT_NAMES.has(m[1]!)) seen.add(m[1]!);
  }
  return [...seen];
}

export interface LiteralMatch {
  /** Offset in the line where the literal starts. */
  start: number;
  raw: string;
  value: ParamValue;
  quote?: '"' | "'";
}

/** The literal assigned on `line` after the `NAME =` prefix of length `prefixEnd`, or null. */
export function literalAfter(line: string, prefixEnd: number): LiteralMatch | null {
  const rest = line.slice(prefixEnd);
  const m = LITERAL_AT_START.exec(rest);
  if (!m) return null;
  const raw = m[1]!;
  const start = prefixEnd + m[0].length - raw.length;
  const value = parseLiteral(raw);
  if (value === null) return null;
  const first = raw[0];
  return first === '"' || first === "'"
    ? { start, raw, value, quote: first }
    : { start, raw, value };
}

function parseLiteral(raw: string): ParamValue | null {
  if (raw === 'true' || raw === 'True') return true;
  if (raw === 'false' || raw === 'False') return false;
  const q = raw[0];
  if (q === '"' || q === "'")
    return raw.slice(1, -1).replace(/\\(.)/g, (_, c: string) => ESCAPES[c] ?? c);
  if (isExpression(raw)) return evaluateExpression(raw);
  // Separators must sit between digits in both languages; anything else is not a number literal.
  if (/_(?!\d)|(?<!\d)_/.test(raw)) return null;
  const n = Number(raw.replace(/_/g, ''));
  return Number.isFinite(n) ? n : null;
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0' };

/** Whether a number literal was written as a float (`4.0`, `1e-3`), which rewrites keep. */
export function isFloatLiteral(raw: string): boolean {
  return /[.eE]/.test(raw) && !/^['"]/.test(raw);
}

/**
 * Numbers as source text: integers plainly, other floats in JS's shortest round-trip form, which
 * Python parses identically (`0.027`, `1e-7`, `1.5e+21`). Rounding is the optimizer's business
 * (it quantizes before proposing), so what is recorded is exactly what is written.
 */
export function formatNumber(v: number, keepFloat = false): string {
  if (Number.isInteger(v) && keepFloat && Math.abs(v) < 1e16) return `${v}.0`;
  return Object.is(v, -0) ? '0' : String(v);
}

/** A value as it appears in titles and logs (not source): compact numbers, bare strings. */
export function formatValue(v: ParamValue): string {
  return typeof v === 'number' ? formatNumber(v) : String(v);
}

export function formatString(s: string, quote: '"' | "'"): string {
  const body = s
    .replace(/\\/g, '\\\\')
    .replace(/\n/g, '\\n')
    .replace(/\t/g, '\\t')
    .replace(/\r/g, '\\r');
  return quote + body.split(quote).join(`\\${quote}`) + quote;
}

/** Python spells booleans True/False; a file that imports or defs like Python gets that spelling. */
export function looksPython(text: string): boolean {
  return (
    /^(?:def |import |from \S+ import |if __name__)/m.test(text) ||
    /(?:=|return)[ \t]*(?:True|False|None)\b/.test(text)
  );
}
