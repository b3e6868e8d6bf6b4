import { describe, expect, it } from 'vitest';
import {
  exact,
  jsonSchema,
  numeric,
  regex,
  schemaErrors,
} from '../../examples/templates/prompt/files/eval/scorers.mjs';

describe("the prompt template's scorers", () => {
  it('exact: trimmed, without case unless asked', () => {
    expect(exact('  Paris\n', 'paris').score).toBe(1);
    expect(exact('Paris', 'paris', { caseSensitive: true }).score).toBe(0);
    expect(exact('Paris, France', 'Paris')).toEqual({ score: 0, why: 'expected "Paris"' });
  });

  it('regex: a pattern string with flags, or a RegExp', () => {
    expect(regex('Answer: YES', '^answer: (yes|no)$', 'i').score).toBe(1);
    expect(regex('Answer: maybe', /^answer: (yes|no)$/i).score).toBe(0);
  });

  it('numeric: the last number of the output, within an absolute or relative tolerance', () => {
    expect(numeric('Step 1 gives 12, so the total is 1,234.5 dollars.', 1234.5).score).toBe(1);
    expect(numeric('pi is about 3.14', 3.14159, { abs: 0.01 }).score).toBe(1);
    expect(numeric('pi is about 3.1', 3.14159, { abs: 0.01 }).score).toBe(0);
    expect(numeric('roughly 1.02e3', 1000, { rel: 0.05 }).score).toBe(1);
    expect(numeric('-0.5', -0.5).score).toBe(1);
    expect(numeric('no idea', 4)).toEqual({ score: 0, why: 'no number in the output' });
  });

  it('jsonSchema: bare or fenced JSON that conforms, with the path of what does not', () => {
    const schema = {
      type: 'object',
      required: ['name', 'tags'],
      additionalProperties: false,
      properties: {
        name: { type: 'string', minLength: 1 },
        age: { type: 'integer', minimum: 0 },
        tags: { type: 'array', items: { enum: ['a', 'b'] }, maxItems: 2 },
      },
    };
    expect(jsonSchema('{"name":"x","age":3,"tags":["a"]}', schema).score).toBe(1);
    expect(jsonSchema('```json\n{"name":"x","tags":[]}\n```', schema).score).toBe(1);
    expect(jsonSchema('{"name":"x"', schema)).toEqual({
      score: 0,
      why: expect.stringMatching(/^not JSON: /),
    });
    expect(schemaErrors({ name: '', age: 1.5, tags: ['c'], extra: 1 }, schema)).toEqual([
      '$.name: shorter than 1',
      '$.age: expected integer, got number',
      '$.tags[0]: not one of ["a","b"]',
      '$: unexpected "extra"',
    ]);
    expect(schemaErrors(3, { type: 'number', maximum: 2 })).toEqual(['$: above 2']);
    expect(schemaErrors('x', { type: ['string', 'null'], pattern: '^y' })).toEqual([
      '$: does not match ^y',
    ]);
  });
});
