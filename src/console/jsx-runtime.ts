// A tiny JSX-to-string runtime for the console: every string child and every
// attribute value is escaped unless it is already Html produced by this runtime.
// tsconfig makes it the JSX runtime of every .tsx file (jsxImportSource "#console",
// which package.json "imports" maps to this module): TSX files need no import or pragma.
// Nothing here reads input: a value that came from a callback or a receiver can only
// ever reach the page as text.

/** Markup that is safe to emit as is: made by this runtime, never by concatenating input. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export type Child = Html | string | number | bigint | boolean | null | undefined | readonly Child[];
type AttrValue = string | number | boolean | null | undefined | readonly (string | false | null | undefined)[];

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const ESC_RE = /[&<>"']/g;

export function escapeHtml(s: string): string {
  return s.replace(ESC_RE, (c) => ESC[c]!);
}

const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr']);
const URL_ATTRS = new Set(['href', 'src', 'action', 'formaction', 'xlink:href', 'poster', 'cite']);
const TAG_RE = /^[a-zA-Z][a-zA-Z0-9-]*$/;
const ATTR_RE = /^[a-zA-Z_:][a-zA-Z0-9_.:-]*$/;

function renderChild(c: Child, out: string[]): void {
  if (c === null || c === undefined || c === false || c === true) return;
  if (c instanceof Html) out.push(c.value);
  else if (Array.isArray(c)) for (const x of c as readonly Child[]) renderChild(x, out);
  else out.push(escapeHtml(String(c)));
}

/** Scripts are only ever served as files (strict CSP); inline handlers and styles would be refused anyway. */
function attr(name: string, v: AttrValue): string {
  if (!ATTR_RE.test(name)) throw new Error(`jsx: invalid attribute name ${name}`);
  const lower = name.toLowerCase();
  if (lower.startsWith('on')) throw new Error(`jsx: event handler attribute ${name} is not allowed (CSP: no inline script)`);
  if (lower === 'style') throw new Error('jsx: style attributes are not allowed (CSP: no inline style)');
  if (v === null || v === undefined || v === false) return '';
  if (v === true) return ` ${name}`;
  let s = Array.isArray(v) ? v.filter(Boolean).join(' ') : String(v);
  // javascript:, vbscript: and data: URLs never reach a link, whatever they are built from.
  if (URL_ATTRS.has(lower) && /^(javascript|vbscript|data):/i.test(s.replace(/[\u0000-\u0020]/g, ''))) s = '#';
  return ` ${name}="${escapeHtml(s)}"`;
}

export type Props = Record<string, unknown> & { children?: Child };
export type Component<P = Record<string, unknown>> = (props: P) => Html;

/** The JSX factory (classic runtime). */
export function h(tag: string | Component<any>, props: Record<string, unknown> | null, ...children: Child[]): Html {
  if (typeof tag === 'function') {
    const kids = children.length === 0 ? undefined : children.length === 1 ? children[0] : children;
    return tag({ ...(props ?? {}), ...(kids === undefined ? {} : { children: kids }) });
  }
  if (!TAG_RE.test(tag)) throw new Error(`jsx: invalid tag ${tag}`);
  const out: string[] = [`<${tag}`];
  const fromProps = props?.children as Child | undefined;
  if (props) for (const [k, v] of Object.entries(props)) if (k !== 'children') out.push(attr(k, v as AttrValue));
  out.push('>');
  if (VOID.has(tag)) return new Html(out.join(''));
  // Scripts only as files (<script src>), never inline; styles only as the stylesheet.
  const inline = children.length > 0 || fromProps !== undefined;
  if (tag === 'style' || (tag === 'script' && (inline || typeof props?.src !== 'string'))) throw new Error(`jsx: inline <${tag}> is not allowed (CSP)`);
  renderChild(children.length ? children : (fromProps ?? null), out);
  out.push(`</${tag}>`);
  return new Html(out.join(''));
}

export function Fragment(props: { children?: Child }): Html {
  const out: string[] = [];
  renderChild(props.children ?? null, out);
  return new Html(out.join(''));
}

type AutoProps = Record<string, unknown> & { children?: Child };

/** The automatic runtime's factory (`jsx`/`jsxs`): children come inside props. */
export function jsx(tag: string | Component<any>, props: AutoProps, key?: unknown): Html {
  if (typeof tag === 'function') return tag(props);
  const { children, ...attrs } = props;
  void key;
  return children === undefined ? h(tag, attrs) : h(tag, attrs, children);
}
export { jsx as jsxs, jsx as jsxDEV };

/** Trusted markup from a constant in this code base (never from a variable that holds input). */
export function raw(s: string): Html {
  return new Html(s);
}

/** A whole HTML document. */
export function documentHtml(root: Html): string {
  return `<!doctype html>\n${root.value}`;
}

type Attrs = { children?: Child; class?: AttrValue } & { [k: `on${string}`]: never } & { [k: string]: AttrValue | Child };

// eslint-disable-next-line @typescript-eslint/no-namespace
export declare namespace JSX {
  type Element = Html;
  interface IntrinsicElements {
    [tag: string]: Attrs;
  }
  interface ElementChildrenAttribute {
    children: unknown;
  }
}

// The classic factory's namespace, for files that still set `@jsx h` themselves.
// eslint-disable-next-line @typescript-eslint/no-namespace
export declare namespace h {
  namespace JSX {
    type Element = Html;
    interface IntrinsicElements {
      [tag: string]: Attrs;
    }
    interface ElementChildrenAttribute {
      children: unknown;
    }
  }
}
