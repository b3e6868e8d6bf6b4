/**
 * Instructions in a program's prose that the harness carries out itself. A program.md written
 * for an agent that drives its own loop (the original autoresearch one says "LOOP FOREVER",
 * "git commit", "Run the experiment: uv run train.py > run.log", "record the results in the tsv",
 * "git reset") tells a proposing agent to do what it must not: the brief then says that the
 * harness does these. Pure: Markdown in, the duties found (with the words that asked) out.
 */

export interface HarnessDuty {
  /** What the harness does instead, as the brief lists it. */
  duty: string;
  /** The program's own words that asked for it (the first match, shortened). */
  quote: string;
}

interface Rule {
  duty: string;
  patterns: RegExp[];
}

const RULES: Rule[] = [
  {
    duty: 'creating the branch',
    patterns: [
      /\b(?:create|make) (?:a |the )?(?:new )?branch\b/i,
      /\bgit (?:checkout -b|switch -c|branch)\b/i,
    ],
  },
  {
    duty: 'committing your change',
    patterns: [
      /\bgit commit\b/i,
      /\bcommit (?:it|them|the changes?|your (?:changes?|work|code))\b/i,
    ],
  },
  {
    duty: 'running the experiment and reading its output',
    patterns: [
      /\b(?:run|launch|kick off|start) (?:the |an |each )?(?:experiment|training|benchmark|evaluation)s?\b/i,
      /\bread (?:out )?the results\b/i,
      /\b(?:tail|grep)\b[^\n`]*\brun\.log\b/i,
    ],
  },
  {
    duty: 'recording results (results.tsv)',
    patterns: [
      /\b(?:log|record|append|write|add)\b[^.\n]{0,40}\b(?:results\.tsv|the tsv)\b/i,
      /\b(?:create|initiali[sz]e)\b[^.\n]{0,20}\bresults\.tsv\b/i,
    ],
  },
  {
    duty: 'keeping or reverting the change (git reset, advancing the branch)',
    patterns: [
      /\bgit (?:reset|revert|stash)\b/i,
      /\badvance the branch\b/i,
      /\b(?:discard and revert|revert the change)\b/i,
    ],
  },
  { duty: 'timing out runs that take too long', patterns: [/\bkill (?:it|the run)\b/i] },
  {
    duty: 'looping: it asks for the next change when this one is measured',
    patterns: [
      /\bloop forever\b/i,
      /\bnever stop\b/i,
      /\bdo not (?:pause|stop)\b/i,
      /\b(?:keep going|continue working) indefinitely\b/i,
      /\bthe loop runs until\b/i,
    ],
  },
];

/**
 * The duties asked for in `body`, in the order of RULES. A sentence that names the harness
 * ("the harness runs the experiment") describes it rather than asks the agent, and is skipped.
 */
export function harnessDuties(body: string): HarnessDuty[] {
  const sentences = body
    .split(/\n\s*\n|(?<=[.!?])\s+|\n(?=\s*(?:\d+[.)]|[-*+])\s)/)
    .map((s) =>
      s
        .replace(/[`*]{1,2}/g, '')
        .replace(/\s+/g, ' ')
        .trim(),
    )
    .filter((s) => s && !/\bharness\b/i.test(s));
  const found: HarnessDuty[] = [];
  for (const rule of RULES) {
    const hit = firstMatch(sentences, rule.patterns);
    if (hit) found.push({ duty: rule.duty, quote: hit });
  }
  return found;
}

function firstMatch(sentences: string[], patterns: RegExp[]): string | null {
  for (const s of sentences) {
    for (const p of patterns) {
      const m = p.exec(s);
      // "do not run the experiment yourself" asks the opposite.
      if (m && !/\b(?:do not|don't|never|not|no need to)\s+(?:\w+\s+)?$/i.test(s.slice(0, m.index)))
        return quoteAround(s, m.index, m[0].length);
    }
  }
  return null;
}

/** The match with a little of its sentence around it (whole words), at most ~70 characters. */
function quoteAround(sentence: string, at: number, length: number): string {
  const s = sentence.replace(/^(?:\d+[.)]|[-*+])\s+/, '');
  const shift = sentence.length - s.length;
  if (s.length <= 70) return s;
  let start = Math.max(0, at - shift - 20);
  let end = Math.min(s.length, at - shift + length + 30);
  while (start > 0 && /\S/.test(s[start - 1]!)) start--;
  while (end < s.length && /\S/.test(s[end]!)) end++;
  return `${start > 0 ? '…' : ''}${s.slice(start, end).trim()}${end < s.length ? '…' : ''}`;
}
