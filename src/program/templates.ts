/**
 * Ready programs: `examples/templates/<name>/` holds a complete program (program.md, the protected
 * evaluator, checks) under `files/`, a `template.json` manifest (a one-line summary, and a
 * `demo` when it runs offline with a scripted agent whose patches sit in the folder it names).
 * `autoresearch init --template <name>` writes the files into a project; `autoresearch demo
 * <name>` writes them into a fresh repository and runs them.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { z } from 'zod';
import { closest, ProgramError, UserError } from './errors.js';
import { parseProgram } from './program.js';

const TEMPLATES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../examples/templates');

const ManifestSchema = z.strictObject({
  /** One line for `init --template`'s list. */
  summary: z.string().min(1),
  /** An offline demo: the scripted agent applies the patches of this folder, in name order. */
  demo: z.strictObject({ description: z.string().min(1), patches: z.string().min(1) }).optional(),
});

export interface TemplateInfo extends z.output<typeof ManifestSchema> {
  name: string;
}

export function listTemplates(): TemplateInfo[] {
  if (!existsSync(TEMPLATES_DIR)) return [];
  return readdirSync(TEMPLATES_DIR)
    .filter((n) => existsSync(join(TEMPLATES_DIR, n, 'template.json')))
    .sort()
    .map((name) => readTemplate(name));
}

function readTemplate(name: string): TemplateInfo {
  const file = join(TEMPLATES_DIR, name, 'template.json');
  if (!existsSync(file)) {
    const names = listTemplates().map((t) => t.name);
    const near = closest(name, names);
    throw new UserError(
      `no template "${name}"${near ? ` (did you mean ${near}?)` : ''}`,
      `pick one of: ${names.join(', ')} (autoresearch init --template lists them)`,
    );
  }
  const parsed = ManifestSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) throw new Error(`${file}: ${parsed.error.issues[0]!.message}`);
  return { name, ...parsed.data };
}

/** One line per template, for `autoresearch init --template` with no name. */
export function templateMenu(): string[] {
  const templates = listTemplates();
  const width = Math.max(0, ...templates.map((t) => t.name.length)) + 2;
  return templates.map(
    (t) =>
      `${t.name.padEnd(width)}${t.summary}${t.demo ? ' (offline demo: autoresearch demo ' + t.name + ')' : ''}`,
  );
}

/**
 * The template's files, relative path -> content, program.md included. A file named `gitignore`
 * is written as `.gitignore`: kept under its own name here, it would hide the template's own
 * files from this repository's git and from the npm package.
 */
function templateFiles(name: string): Map<string, string> {
  const root = join(TEMPLATES_DIR, name, 'files');
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else {
        const rel = relative(root, path);
        const name = entry.name === 'gitignore' ? join(dirname(rel), '.gitignore') : rel;
        files.set(name, readFileSync(path, 'utf8'));
      }
    }
  };
  walk(root);
  return files;
}

/** program.md with `agent:` added at the end of its front matter (templates leave it out). */
function withAgent(program: string, agent: string | Record<string, unknown>): string {
  const match = /^---\n([\s\S]*?)\n---\n/.exec(program);
  if (!match || /^agent:/m.test(match[1]!))
    throw new Error('a template program.md starts with its front matter, without `agent:`');
  const line = stringify({ agent }, { lineWidth: 0 }).trimEnd();
  return `---\n${match[1]}\n${line}\n---\n${program.slice(match[0].length)}`;
}

export interface WriteOptions {
  /** Overwrite files that exist (otherwise nothing is written when one does). */
  force?: boolean;
  agent: string | Record<string, unknown>;
}

/**
 * Writes template `name` into `dir` with the given agent; returns the paths written. Writes
 * nothing when a file exists (without `force`) or the program would not pass `run`'s checks.
 */
export function writeTemplate(name: string, dir: string, o: WriteOptions): string[] {
  readTemplate(name);
  const files = templateFiles(name);
  files.set('program.md', withAgent(files.get('program.md')!, o.agent));
  const clashes = [...files.keys()].filter((f) => existsSync(join(dir, f)));
  if (clashes.length > 0 && !o.force)
    throw new UserError(
      `template ${name}: ${clashes.join(', ')} already exist${clashes.length === 1 ? 's' : ''} (nothing was written)`,
      `move ${clashes.length === 1 ? 'it' : 'them'} away, or overwrite with --force`,
    );
  try {
    parseProgram(files.get('program.md')!, 'program.md');
  } catch (e) {
    if (!(e instanceof ProgramError)) throw e;
    throw new UserError(
      `template ${name}: ${e.key ?? 'program'}: ${e.problem} (nothing was written)`,
      e.hint ?? 'see `autoresearch init --help`',
    );
  }
  for (const [path, content] of files) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return [...files.keys()].sort();
}

/** The demo's patches (absolute paths, in order) for the scripted agent; null without a demo. */
export function demoPatches(name: string): string[] | null {
  const demo = readTemplate(name).demo;
  if (!demo) return null;
  const dir = join(TEMPLATES_DIR, name, demo.patches);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.patch'))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((f) => join(dir, f));
}
