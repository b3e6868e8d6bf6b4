/**
 * Constant integer expressions as people write sizes: `2**19`, `1 << 10`, `512 * 1024`. The tune
 * agent reads their value and writes a new value back in the same form (`2**20`, `1 << 11`,
 * `1024 * 1024`), so the diff shows the change as the author thinks of it. A value the form
 * cannot express (not a power of the base, not a multiple of the unit) is written as a plain
 * number. Same semantics in Python, JavaScript and TypeScript: `<<` is only read where JS's
 * 32-bit shift agrees with Python's.
 */

interface Parts {
  /** The operands as written, and the operators with their spacing between them. */
  operands: string[];
  operators: string[];
  op: '**' | '<<' | '*';
}

const PART = /(\d+)|([ \t]*(?:\*\*|<<|\*)[ \t]*)/g;
const INT32_MAX = 2 ** 31 - 1;

function split(raw: string): Parts | null {
  const operands: string[] = [];
  const operators: string[] = [];
  for (const m of raw.matchAll(PART)) {
    if (m[1] !== undefined) operands.push(m[1]);
    else operators.push(m[2]!);
  }
  if (operands.length < 2 || operators.length !== operands.length - 1) return null;
  const kinds = new Set(operators.map((o) => o.trim()));
  if (kinds.size !== 1) return null;
  const op = [...kinds][0] as Parts['op'];
  if (op !== '*' && operands.length !== 2) return null;
  if (operands.join('').length + operators.join('').length !== raw.length) return null;
  return { operands, operators, op };
}

/** The value of a constant expression, or null when `raw` is not one (or not a safe integer). */
export function evaluateExpression(raw: string): number | null {
  const p = split(raw);
  if (!p) return null;
  const [a, b] = p.operands.map(Number) as [number, number];
  let v: number;
  if (p.op === '**') v = a ** b;
  else if (p.op === '<<') v = a * 2 ** b;
  else v = p.operands.map(Number).reduce((x, y) => x * y, 1);
  if (!Number.isSafeInteger(v)) return null;
  if (p.op === '<<' && v > INT32_MAX) return null; // JS would wrap around; Python would not
  return v;
}

export function isExpression(raw: string): boolean {
  return split(raw) !== null;
}

/** `value` written in the form of `raw`, or null when that form cannot express it exactly. */
export function rewriteExpression(raw: string, value: number): string | null {
  const p = split(raw);
  if (!p || !Number.isSafeInteger(value) || value < 1) return null;
  const join = (operands: string[]) =>
    operands.map((o, i) => (i === 0 ? o : p.operators[i - 1]! + o)).join('');
  const [a] = p.operands.map(Number) as [number];
  if (p.op === '*') {
    const unit = p.operands.slice(1).reduce((x, y) => x * Number(y), 1);
    if (unit < 1 || value % unit !== 0) return null;
    return join([String(value / unit), ...p.operands.slice(1)]);
  }
  if (p.op === '<<' && value > INT32_MAX) return null;
  const base = p.op === '**' ? a : 2;
  const rest = p.op === '**' ? value : value / a;
  const k = exponentOf(rest, base);
  return k === null ? null : join([p.operands[0]!, String(k)]);
}

/** k with base**k === v exactly (k >= 0), or null. */
function exponentOf(v: number, base: number): number | null {
  if (base < 2 || !Number.isSafeInteger(v) || v < 1) return null;
  let k = 0;
  for (let x = v; x > 1; x /= base) {
    if (x % base !== 0) return null;
    k++;
  }
  return k;
}

/** Whether v is 2**k for a whole k >= 0. */
export function isPowerOfTwo(v: number): boolean {
  return exponentOf(v, 2) !== null;
}
