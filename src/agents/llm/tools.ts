/**
 * The llm agent's tools over one workspace: list, read, search, edit, write. Paths are relative
 * to the program's folder and follow the workspace path rules (`workspace/paths.ts`): nothing
 * that would leave the folder (`..`, absolute paths, symlinks pointing out), no `.git`, writes
 * only to editable, unprotected files. Every refusal or failure is a string result the model
 * sees ("error: ..."), never an exception: the model can correct itself.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tool } from 'ai';
import { z } from 'zod';
import { workspacePaths } from '../../workspace/paths.js';

const LIMITS = {
  /** Most entries list_files returns. */
  listEntries: 500,
  /** Most characters read_file returns at once. */
  readChars: 60_000,
  /** Most matching lines search_text returns. */
  searchResults: 100,
  /** Files larger than this are skipped by search_text. */
  searchFileBytes: 1_000_000,
  /** Longest matching line shown by search_text. */
  searchLineChars: 300,
};

export interface ToolStats {
  calls: Record<string, number>;
  errors: number;
  /** Program-relative paths written or edited successfully, in order of first change. */
  changed: string[];
  finish?: { title: string; hypothesis?: string; lessons?: string };
}

export interface WorkspaceToolsOptions {
  /** Absolute path of the program's folder in the workspace. */
  programDir: string;
  editable: string[];
  protected: string[];
  /** When false, protected files can't even be read, listed or searched. */
  readProtected: boolean;
}

class ToolError extends Error {}

export function workspaceTools(o: WorkspaceToolsOptions, stats: ToolStats) {
  const paths = workspacePaths({
    programDir: o.programDir,
    editable: o.editable,
    protected: o.protected,
    readProtected: o.readProtected,
  });
  const root = paths.programDir;

  /** A path the model may read (a file or folder): its absolute and program-relative forms, or a ToolError. */
  function readable(path: string | undefined): { abs: string; rel: string } {
    const v = paths.mayRead(path ?? '.');
    if (!v.ok) throw new ToolError(v.reason);
    return v;
  }

  function readableFile(path: string): { abs: string; rel: string } {
    const v = readable(path);
    if (v.rel === '.') throw new ToolError('a file path is required');
    if (!existsSync(v.abs)) throw new ToolError(`${v.rel}: no such file`);
    return v;
  }

  function writable(path: string): { abs: string; rel: string } {
    const v = paths.mayWrite(path);
    if (!v.ok) throw new ToolError(v.reason);
    return v;
  }

  /** git-tracked and untracked (not ignored) files under `rel` that the model may read, program-relative. */
  function listed(rel: string): string[] {
    const out = execFileSync(
      'git',
      ['ls-files', '--cached', '--others', '--exclude-standard', '-z', '--', rel],
      {
        cwd: root,
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    const files = [...new Set(out.split('\0').filter(Boolean))];
    // A listed symlink pointing out is no more readable through a search than by name.
    return files.filter((f) => existsSync(join(root, f)) && paths.mayRead(f).ok).sort();
  }

  /** Runs a tool body, counting the call and turning failures into an error string for the model. */
  function run<A>(name: string, body: (args: A) => string): (args: A) => Promise<string> {
    return async (args: A) => {
      stats.calls[name] = (stats.calls[name] ?? 0) + 1;
      try {
        return body(args);
      } catch (e) {
        stats.errors++;
        return `error: ${e instanceof ToolError ? e.message : (e as Error).message}`;
      }
    };
  }

  const changed = (rel: string) => {
    if (!stats.changed.includes(rel)) stats.changed.push(rel);
  };

  return {
    list_files: tool({
      description: `List the files (git-tracked and new, not ignored) under a folder of the program, relative to the program folder. At most ${LIMITS.listEntries} entries.`,
      inputSchema: z.object({
        path: z.string().optional().describe('folder relative to the program folder; default "."'),
      }),
      execute: run('list_files', ({ path }: { path?: string }) => {
        const { rel } = readable(path);
        const files = listed(rel);
        if (files.length === 0) return `no files under ${rel}`;
        const shown = files
          .slice(0, LIMITS.listEntries)
          .map((f) =>
            paths.isProtected(f)
              ? `${f} (protected, read-only)`
              : paths.isEditable(f)
                ? `${f} (editable)`
                : f,
          );
        return (
          shown.join('\n') +
          (files.length > shown.length ? `\n... and ${files.length - shown.length} more` : '')
        );
      }),
    }),

    read_file: tool({
      description: `Read a text file relative to the program folder, with line numbers. Optionally a line range (1-based, inclusive). At most ${LIMITS.readChars} characters per call.`,
      inputSchema: z.object({
        path: z.string(),
        start_line: z.number().int().min(1).optional(),
        end_line: z.number().int().min(1).optional(),
      }),
      execute: run(
        'read_file',
        ({
          path,
          start_line,
          end_line,
        }: {
          path: string;
          start_line?: number;
          end_line?: number;
        }) => {
          const { abs, rel } = readableFile(path);
          if (!statSync(abs).isFile()) throw new ToolError(`${rel} is a folder; use list_files`);
          const lines = readFileSync(abs, 'utf8').split('\n');
          const from = start_line ?? 1;
          const to = Math.min(end_line ?? lines.length, lines.length);
          let out = '';
          let i = from;
          for (; i <= to; i++) {
            const line = `${i}\t${lines[i - 1]}\n`;
            if (out.length + line.length > LIMITS.readChars) break;
            out += line;
          }
          const more =
            i <= to
              ? `\n[truncated at line ${i - 1} of ${lines.length}; read on with start_line=${i}]`
              : '';
          return `${rel} (${lines.length} lines)\n${out}${more}`;
        },
      ),
    }),

    search_text: tool({
      description: `Search the program's files for a plain string (default) or a JavaScript regular expression; returns "path:line: text", at most ${LIMITS.searchResults} matches.`,
      inputSchema: z.object({
        pattern: z.string().min(1),
        regex: z.boolean().optional().describe('treat pattern as a regular expression'),
        path: z.string().optional().describe('folder or file to search; default "."'),
      }),
      execute: run(
        'search_text',
        ({ pattern, regex, path }: { pattern: string; regex?: boolean; path?: string }) => {
          const { rel } = readable(path);
          let re: RegExp;
          try {
            re = new RegExp(regex ? pattern : pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
          } catch (e) {
            throw new ToolError(`invalid regular expression: ${(e as Error).message}`);
          }
          const hits: string[] = [];
          for (const f of listed(rel)) {
            const abs = join(root, f);
            if (statSync(abs).size > LIMITS.searchFileBytes) continue;
            const text = readFileSync(abs, 'utf8');
            if (text.includes('\0')) continue;
            const lines = text.split('\n');
            for (let i = 0; i < lines.length && hits.length <= LIMITS.searchResults; i++) {
              if (re.test(lines[i]!))
                hits.push(`${f}:${i + 1}: ${lines[i]!.slice(0, LIMITS.searchLineChars)}`);
            }
            if (hits.length > LIMITS.searchResults) break;
          }
          if (hits.length === 0) return 'no matches';
          return (
            hits.slice(0, LIMITS.searchResults).join('\n') +
            (hits.length > LIMITS.searchResults
              ? '\n[more matches not shown; narrow the search]'
              : '')
          );
        },
      ),
    }),

    edit_file: tool({
      description:
        'Replace one exact piece of text in an editable file. `search` must occur exactly once in the file (include enough surrounding lines to make it unique); it is replaced by `replace`.',
      inputSchema: z.object({ path: z.string(), search: z.string().min(1), replace: z.string() }),
      execute: run(
        'edit_file',
        ({ path, search, replace }: { path: string; search: string; replace: string }) => {
          const { abs, rel } = writable(path);
          if (!existsSync(abs))
            throw new ToolError(`${rel}: no such file; use write_file to create it`);
          const text = readFileSync(abs, 'utf8');
          const count = text.split(search).length - 1;
          if (count === 0)
            throw new ToolError(
              `the search text was not found in ${rel}; read the file and copy the text exactly`,
            );
          if (count > 1)
            throw new ToolError(
              `the search text occurs ${count} times in ${rel}; include more surrounding lines so it occurs exactly once`,
            );
          const at = text.indexOf(search);
          writeFileSync(abs, text.slice(0, at) + replace + text.slice(at + search.length));
          changed(rel);
          return `edited ${rel}`;
        },
      ),
    }),

    write_file: tool({
      description: 'Create or overwrite an editable file with the given content.',
      inputSchema: z.object({ path: z.string(), content: z.string() }),
      execute: run('write_file', ({ path, content }: { path: string; content: string }) => {
        const { abs, rel } = writable(path);
        mkdirSync(dirname(abs), { recursive: true });
        writeFileSync(abs, content);
        changed(rel);
        return `wrote ${rel} (${content.length} characters)`;
      }),
    }),

    finish: tool({
      description:
        'Call once your change is complete: a one-line title of what changed, the hypothesis (why it should improve the metric), and optionally lessons (what you learned that later experiments should know). Ends your turn.',
      inputSchema: z.object({
        title: z.string().min(1),
        hypothesis: z.string().optional(),
        lessons: z
          .string()
          .optional()
          .describe('what later experiments should know, e.g. why an idea cannot work'),
      }),
      execute: run('finish', (args: { title: string; hypothesis?: string; lessons?: string }) => {
        stats.finish = args;
        return 'recorded; the harness will now commit and run your change';
      }),
    }),
  };
}
