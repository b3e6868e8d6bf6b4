/**
 * Runs a CLI child as if some packages were not installed: a Node module resolve hook (the
 * real `module.register` API, loaded with `--import`) answers ERR_MODULE_NOT_FOUND for them,
 * exactly as Node does for a package that is absent from node_modules.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tempDir } from './temp.js';

export function hideModulesEnv(packages: string[]): Record<string, string> {
  const dir = tempDir('ar-hide-');
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(
    hooks,
    `const hidden = ${JSON.stringify(packages)};
export async function resolve(specifier, context, next) {
  if (hidden.some((p) => specifier === p || specifier.startsWith(p + '/'))) {
    const e = new Error(\`Cannot find package '\${specifier}' imported from \${context.parentURL}\`);
    e.code = 'ERR_MODULE_NOT_FOUND';
    throw e;
  }
  return next(specifier, context);
}
`,
  );
  const register = join(dir, 'register.mjs');
  writeFileSync(
    register,
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
  );
  return { NODE_OPTIONS: `--import ${pathToFileURL(register).href}` };
}
