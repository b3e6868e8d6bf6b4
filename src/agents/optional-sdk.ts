/**
 * The agent SDKs are optional peer dependencies: heavy, and needed only by the users of that
 * agent. Loading one that is absent is a user's fix (one install command), not a crash.
 */
import { UserError } from '../program/errors.js';

export async function loadOptionalSdk<T>(
  agent: string,
  pkg: string,
  load: () => Promise<T>,
): Promise<T> {
  try {
    return await load();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException)?.code;
    const message = (e as Error)?.message ?? String(e);
    // Only the package itself being absent means "install it"; a dependency of it missing or a
    // broken install says what failed, so the user is not sent to install what is already there.
    const absent =
      (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
      message.includes(`'${pkg}'`);
    if (absent)
      throw new UserError(
        `the ${agent} agent needs ${pkg}, which is not installed`,
        `npm install ${pkg}`,
      );
    throw new UserError(
      `the ${agent} agent could not load ${pkg}: ${message.split('\n')[0]}`,
      `npm install ${pkg}   (reinstalls it)`,
    );
  }
}
