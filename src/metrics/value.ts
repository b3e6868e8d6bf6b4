/**
 * One printed value -> a number, or a refusal that says why and what to print instead. Only a
 * plain decimal number is read (`0.9979`, `-3`, `.5`, `1e-05`, digits grouped as `1_000`):
 * anything that would need a guess (a unit, a percentage, thousands separators or a decimal
 * comma, hex, nan/inf) is refused, so a wrong number is never recorded silently.
 */

export type ValueReading =
  | { ok: true; value: number }
  /** `reason`: "has a unit (ms)"; `plain`: the number to print instead, when there is one. */
  | { ok: false; reason: string; plain: string | null };

const DIGITS = String.raw`\d+(?:_\d+)*`;
const DECIMAL = String.raw`[-+]?(?:${DIGITS}(?:\.(?:${DIGITS})?)?|\.${DIGITS})(?:[eE][-+]?\d+)?`;
const PLAIN = new RegExp(`^${DECIMAL}$`);
const LEADING = new RegExp(`^${DECIMAL}`);
const NOT_FINITE = /^[-+]?(?:nan|inf|infinity)$/i;
const NOTHING = /^(?:none|null|n\/a|undefined)$/i;
const RADIX = /^([-+]?)0([xob])([0-9a-f_]+)$/i;
/** `1,234,567`, `1'234'567`, `1 234 567` (one separator throughout). */
const GROUPED = /^([-+]?\d{1,3})([,' \u00a0\u202f])(\d{3}(?:\2\d{3})*)(\.\d+)?$/;
const DECIMAL_COMMA = /^([-+]?\d+),(\d+)$/;
const UNIT = /^[\p{L}°%][\p{L}\p{N}°%/^·*]{0,11}$/u;

const clean = (text: string) => Number(text.replace(/_/g, '')).toString();

/** Reads a printed value (already trimmed of surrounding whitespace). */
export function readValue(text: string): ValueReading {
  if (PLAIN.test(text)) {
    const value = Number(text.replace(/_/g, ''));
    if (Number.isFinite(value)) return { ok: true, value };
    return { ok: false, reason: 'is out of range', plain: null };
  }
  if (NOT_FINITE.test(text)) return { ok: false, reason: `is not finite (${text})`, plain: null };
  if (NOTHING.test(text)) return { ok: false, reason: `is not a number (${text})`, plain: null };
  const radix = RADIX.exec(text);
  if (radix) {
    const base = { x: 16, o: 8, b: 2 }[radix[2]!.toLowerCase() as 'x' | 'o' | 'b'];
    const digits = radix[3]!.replace(/_/g, '');
    const value = parseInt(digits, base);
    const name = { 16: 'hexadecimal', 8: 'octal', 2: 'binary' }[base];
    const valid = /^[0-9a-f]+$/i.test(digits) && [...digits].every((d) => parseInt(d, 16) < base);
    return {
      ok: false,
      reason: `is ${name}`,
      plain: valid && Number.isSafeInteger(value) ? `${radix[1] === '-' ? '-' : ''}${value}` : null,
    };
  }
  const grouped = GROUPED.exec(text);
  if (grouped) {
    const sep =
      grouped[2] === ',' ? 'thousands separators or a decimal comma' : 'thousands separators';
    return {
      ok: false,
      reason: `has ${sep}`,
      plain: clean(grouped[1]! + grouped[3]!.split(grouped[2]!).join('') + (grouped[4] ?? '')),
    };
  }
  const comma = DECIMAL_COMMA.exec(text);
  if (comma)
    return { ok: false, reason: 'has a decimal comma', plain: clean(`${comma[1]}.${comma[2]}`) };
  const leading = LEADING.exec(text);
  if (leading) {
    const rest = text.slice(leading[0].length).trim();
    const plain = Number.isFinite(Number(leading[0].replace(/_/g, ''))) ? clean(leading[0]) : null;
    if (rest === '%') return { ok: false, reason: 'is a percentage', plain };
    if (UNIT.test(rest)) return { ok: false, reason: `has a unit (${rest})`, plain };
    return { ok: false, reason: 'has text after its number', plain };
  }
  return { ok: false, reason: 'is not a plain number', plain: null };
}

/** `text` cut to `max` characters, with an ellipsis when cut. */
export function quote(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
