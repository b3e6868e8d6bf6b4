/** The dashboard's access checks: loopback detection, constant-time token comparison, origins, Host names. */
import { timingSafeEqual } from 'node:crypto';
import { hostname, networkInterfaces } from 'node:os';

/** True unless `host` only accepts connections from this machine; the CLI warns when it is not. */
export function isNonLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
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

/** The names a browser may use for this machine when the server listens on every interface. */
export interface Machine {
  hostname: string;
  addresses: string[];
}

function thisMachine(): Machine {
  const addresses = Object.values(networkInterfaces()).flatMap((list) =>
    (list ?? []).map((a) => a.address),
  );
  return { hostname: hostname(), addresses };
}

const HOST_HEADER = /^(?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** A Host header as name (canonical, as browsers send it: lower case, IPv6 compressed, no brackets) and port. */
export function parseHostHeader(header: string | undefined): { name: string; port: number } | null {
  if (!header || !HOST_HEADER.test(header)) return null;
  try {
    const url = new URL(`http://${header}`);
    return {
      name: url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, ''),
      port: url.port ? Number(url.port) : 80,
    };
  } catch {
    return null;
  }
}

function canonicalName(name: string): string | null {
  const n = name.trim().replace(/^\[|\]$/g, '');
  return parseHostHeader(n.includes(':') ? `[${n}]` : n)?.name ?? null;
}

/**
 * The DNS-rebinding guard: a page at evil.example whose name an attacker points at 127.0.0.1
 * reaches this server with `Host: evil.example:<port>`, so only the names this server is really
 * served under pass: the address it is bound to (on 0.0.0.0 or ::, every interface address and the
 * machine's host name) with its port, names given with --allow-host, and loopback names on any
 * port (no outside page can send those; an SSH tunnel `-L 8000:localhost:<port>` does).
 */
export function hostGuard(
  bind: string,
  port: number,
  allow: string[] = [],
  machine: Machine = thisMachine(),
): (header: string | undefined) => boolean {
  const withPort = new Set<string>();
  const anyPort = new Set<string>();
  const b = canonicalName(bind);
  if (b === '0.0.0.0' || b === '::') {
    for (const a of machine.addresses) withPort.add(canonicalName(a) ?? '');
    const name = canonicalName(machine.hostname);
    if (name) withPort.add(name).add(name.split('.')[0]!);
  } else if (b) {
    withPort.add(b);
  }
  for (const a of allow) anyPort.add(canonicalName(a) ?? '');
  withPort.delete('');
  anyPort.delete('');
  return (header) => {
    const h = parseHostHeader(header);
    if (!h) return false;
    return (
      !isNonLoopbackHost(h.name) || anyPort.has(h.name) || (h.port === port && withPort.has(h.name))
    );
  };
}
