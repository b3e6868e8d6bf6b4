/**
 * Switches the program to a worked example: `node eval/use.mjs marketing` (or `email`) copies the
 * example's starting prompts into prompts/ and its eval set and rubric into eval/. Run it before
 * you commit the program (the run refuses protected files with uncommitted changes), then commit.
 */
import { copyFileSync, existsSync, readdirSync } from 'node:fs';

const name = process.argv[2];
const examples = new URL('examples/', import.meta.url);
const known = readdirSync(examples);
if (!known.includes(name)) {
  console.error(`usage: node eval/use.mjs <${known.join('|')}>`);
  process.exit(1);
}
const from = (f) => new URL(`${name}/${f}`, examples);
const to = {
  'system.md': '../prompts/system.md',
  'task.md': '../prompts/task.md',
  'rubric.md': 'rubric.md',
  'validation.jsonl': 'validation.jsonl',
  'holdout.jsonl': 'holdout.jsonl',
};
for (const [file, target] of Object.entries(to)) {
  if (!existsSync(from(file))) continue;
  copyFileSync(from(file), new URL(target, import.meta.url));
  console.log(
    `eval/examples/${name}/${file} -> ${target.startsWith('../') ? target.slice(3) : `eval/${target}`}`,
  );
}
console.log('now commit: git add -A && git commit -m "prompt program: ' + name + '"');
