/**
 * The prompt template's scorers (protected, dependency-free): each takes the model's output and
 * an eval case's expectation and returns { score, why }, score in [0, 1]. Pure functions: the
 * evaluator calls the model, these only judge what came back.
 */

/** The same text, after trimming (and without case unless `caseSensitive`). */
export function exact(output, expected, { caseSensitive = false } = {}) {
  const norm = (s) => (caseSensitive ? String(s).trim() : String(s).trim().toLowerCase());
  const ok = norm(output) === norm(expected);
  return { score: ok ? 1 : 0, why: ok ? 'exact match' : `expected ${JSON.stringify(expected)}` };
}

/** The output matches `pattern` (a string compiled with `flags`, or a RegExp). */
export function regex(output, pattern, flags = '') {
  const re = pattern instanceof RegExp ? pattern : new RegExp(pattern, flags);
  const ok = re.test(String(output));
  return { score: ok ? 1 : 0, why: ok ? `matches ${re}` : `does not match ${re}` };
}

/**
 * The last number in the output (1,234.5 and 1.2e3 read as numbers) is within `abs` or `rel`
 * (a fraction of the expected value) of `expected`; exact equality when neither is given.
 */
export function numeric(output, expected, { abs = 0, rel = 0 } = {}) {
  const found = String(output).match(
    /[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][-+]?\d+)?/g,
  );
  const numbers = (found ?? []).filter((s) => /\d/.test(s)).map((s) => Number(s.replace(/,/g, '')));
  if (numbers.length === 0) return { score: 0, why: 'no number in the output' };
  const got = numbers.at(-1);
  const tolerance = Math.max(abs, rel * Math.abs(expected));
  const ok = Math.abs(got - expected) <= tolerance;
  return {
    score: ok ? 1 : 0,
    why: `${got} vs ${expected}${ok ? '' : `: off by ${Math.abs(got - expected)}, tolerance ${tolerance}`}`,
  };
}

/** The JSON in the output: the whole text, or the inside of a ```json fence. */
function parseJson(output) {
  const text = String(output).trim();
  const fenced = /^```(?:json)?\s*\n([\s\S]*?)\n```$/.exec(text);
  return JSON.parse(fenced ? fenced[1] : text);
}

const typeOf = (v) =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v;

/**
 * Where `value` breaks `schema` (a JSON Schema subset: type, enum, const, properties, required,
 * additionalProperties: false, items, minItems, maxItems, minLength, maxLength, pattern, minimum,
 * maximum), as "path: problem" lines; none when it conforms.
 */
export function schemaErrors(value, schema, path = '$') {
  const errors = [];
  const t = typeOf(value);
  if (schema.type !== undefined) {
    const types = [schema.type].flat();
    const fits = types.some((s) => s === t || (s === 'number' && t === 'integer'));
    if (!fits) return [`${path}: expected ${types.join(' or ')}, got ${t}`];
  }
  if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value)))
    errors.push(`${path}: not one of ${JSON.stringify(schema.enum)}`);
  if ('const' in schema && JSON.stringify(schema.const) !== JSON.stringify(value))
    errors.push(`${path}: expected ${JSON.stringify(schema.const)}`);
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength)
      errors.push(`${path}: shorter than ${schema.minLength}`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength)
      errors.push(`${path}: longer than ${schema.maxLength}`);
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value))
      errors.push(`${path}: does not match ${schema.pattern}`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum)
      errors.push(`${path}: below ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum)
      errors.push(`${path}: above ${schema.maximum}`);
  }
  if (t === 'array') {
    if (schema.minItems !== undefined && value.length < schema.minItems)
      errors.push(`${path}: fewer than ${schema.minItems} items`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems)
      errors.push(`${path}: more than ${schema.maxItems} items`);
    if (schema.items)
      value.forEach((item, i) => errors.push(...schemaErrors(item, schema.items, `${path}[${i}]`)));
  }
  if (t === 'object') {
    for (const key of schema.required ?? [])
      if (!(key in value)) errors.push(`${path}: missing "${key}"`);
    for (const [key, item] of Object.entries(value)) {
      const sub = schema.properties?.[key];
      if (sub) errors.push(...schemaErrors(item, sub, `${path}.${key}`));
      else if (schema.additionalProperties === false) errors.push(`${path}: unexpected "${key}"`);
    }
  }
  return errors;
}

/** The output is JSON (bare or in a ```json fence) that conforms to `schema`. */
export function jsonSchema(output, schema) {
  let value;
  try {
    value = parseJson(output);
  } catch (e) {
    return { score: 0, why: `not JSON: ${e.message}` };
  }
  const errors = schemaErrors(value, schema);
  return errors.length === 0
    ? { score: 1, why: 'valid JSON for the schema' }
    : { score: 0, why: errors.slice(0, 3).join('; ') };
}
