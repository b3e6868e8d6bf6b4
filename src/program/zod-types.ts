/** Small zod types shared by the front matter and every agent's options. */
import { z } from 'zod';
import { parseDuration } from './duration.js';

/** `300`, `300s`, `5m`, `1h30m` -> seconds (> 0). */
export const DurationSchema = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const seconds = parseDuration(value);
  if (seconds === null || seconds <= 0) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a duration such as 300s, 5m or 1h, got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  return seconds;
});

/** The name of an environment variable (for API keys and the like). */
export const EnvNameSchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name');
