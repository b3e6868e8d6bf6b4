/** The dashboard's access checks: loopback detection, constant-time token comparison, origins. */
import { timingSafeEqual } from 'node:crypto';

/** True unless `host` only accepts connections from this machine; the CLI warns when it is not. */
export function isNonLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return false;
  if (/^127\.\d+\.\d+\.\d+$/.test(h)) return false;
  if (/^::ffff:127\.\d+\.\d+\.\d+$/.test(h)) return false;
  return true;
}

export function sameToken(a: string | undefined, token: string): boolean {
  if (!a) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(token);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function hostOf(url: string): string | null {
  try {
    return new URL(url).host.toLowerCase();
  } catch {
    return null;
  }
}
