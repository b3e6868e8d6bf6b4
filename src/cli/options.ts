import { InvalidArgumentError } from 'commander';
import { parseDuration } from '../program/duration.js';

export function intOption(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new InvalidArgumentError('expected a whole number above 0');
  return n;
}

export function numberOption(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number above 0');
  return n;
}

export function durationOption(value: string): number {
  const n = parseDuration(value);
  if (n === null || n <= 0)
    throw new InvalidArgumentError('expected a duration such as 300s, 5m or 1h');
  return n;
}

/** `--allow-host dash.example.org` (repeatable): a host name or address, without scheme or port. */
export function hostNameOption(value: string, previous: string[] = []): string[] {
  const name = value.trim();
  if (!/^(?:[A-Za-z0-9._-]+|\[?[0-9A-Fa-f:.]+\]?)$/.test(name))
    throw new InvalidArgumentError(
      'expected a host name or address such as dash.example.org (no scheme, path or port)',
    );
  return [...previous, name];
}

/** `--tag`, for every command that reads or controls one run. */
export const TAG_OPTION = ['-t, --tag <tag>', 'which run (default: the most recent)'] as const;
