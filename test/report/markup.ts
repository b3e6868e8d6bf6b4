/** A small markup scanner for the tests (no DOM in Node): the tags a browser would see, and the text. */
export interface Tag {
  name: string;
  attrs: Record<string, string>;
}

const TAG = /<([a-zA-Z][\w:-]*)((?:\s+[^\s=>/]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+))?)*)\s*\/?>/g;
const ATTR = /([^\s=>/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g;

export function tags(markup: string): Tag[] {
  return [...markup.matchAll(TAG)].map((m) => ({
    name: m[1]!.toLowerCase(),
    attrs: Object.fromEntries(
      [...m[2]!.matchAll(ATTR)].map((a) => [
        a[1]!.toLowerCase(),
        decode(a[2] ?? a[3] ?? a[4] ?? ''),
      ]),
    ),
  }));
}

function decode(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

/** The text content, tags removed and entities decoded. */
export function text(markup: string): string {
  return decode(markup.replace(/<style>[\s\S]*?<\/style>/g, '').replace(/<[^>]*>/g, ''));
}

/** `<` that starts no tag, closing tag, comment or doctype: markup broken by unescaped text. */
export function strayAngles(markup: string): number {
  return (markup.match(/<(?![a-zA-Z/!])/g) ?? []).length;
}

/** The rows of the table with this class, as cell texts. */
export function tableRows(markup: string, cls: string): string[][] {
  const table = new RegExp(`<table class="${cls}">([\\s\\S]*?)</table>`).exec(markup)?.[1] ?? '';
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(table)?.[1] ?? '';
  return [...body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((r) =>
    [...r[1]!.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) => text(c[1]!)),
  );
}
