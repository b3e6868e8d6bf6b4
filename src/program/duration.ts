/** Durations in front matter and flags: `300`, `300s`, `5m`, `1.5h`, `1h30m`, `90s`. */

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

/** Parses a duration to seconds; returns null when the text is not a duration. */
export function parseDuration(input: string | number): number | null {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? input : null;
  const text = input.trim().toLowerCase();
  if (text === '') return null;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const parts = text.match(/(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)/g);
  if (!parts || parts.join('').replace(/\s+/g, '') !== text.replace(/\s+/g, '')) return null;
  let total = 0;
  for (const part of parts) {
    const m = /(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)/.exec(part)!;
    total += Number(m[1]) * UNIT_SECONDS[m[2]!]!;
  }
  return total;
}

/** Formats seconds for people: `9.8s`, `4m 12s`, `2h 05m`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)}s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
