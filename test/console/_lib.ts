// Shared by the console tests: log in through the real login form and keep the cookie,
// like a browser would, over app.inject or a real socket.
import type { Harness } from '../helpers/relay.js';

export interface Client {
  cookie: string;
  csrf: string;
  get(path: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }>;
  post(path: string, form: Record<string, string>, opts?: { csrf?: boolean }): Promise<{ status: number; body: string; headers: Record<string, unknown> }>;
}

const cookieOf = (setCookie: unknown, name: string): string | undefined => {
  const all = Array.isArray(setCookie) ? setCookie : setCookie ? [String(setCookie)] : [];
  for (const c of all) {
    const m = new RegExp(`^${name}=([^;]*)`).exec(String(c));
    if (m) return m[1];
  }
  return undefined;
};

export const csrfIn = (html: string): string => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';

export async function login(h: Harness, token: string): Promise<{ status: number; client: Client | null; body: string }> {
  const form = await h.app.inject({ method: 'GET', url: '/console/login' });
  const nonce = cookieOf(form.headers['set-cookie'], 'pgr_login')!;
  const hidden = /name="_login" value="([^"]+)"/.exec(form.body)?.[1] ?? '';
  const res = await h.app.inject({
    method: 'POST', url: '/console/login', headers: { cookie: `pgr_login=${nonce}`, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ _login: hidden, token, next: '/console' }).toString(),
  });
  const session = cookieOf(res.headers['set-cookie'], 'pgr_console');
  if (res.statusCode !== 303 || !session) return { status: res.statusCode, client: null, body: res.body };
  const cookie = `pgr_console=${session}`;
  const first = await h.app.inject({ method: 'GET', url: '/console', headers: { cookie } });
  const client: Client = {
    cookie,
    csrf: csrfIn(first.body),
    async get(path) {
      const r = await h.app.inject({ method: 'GET', url: path, headers: { cookie } });
      return { status: r.statusCode, body: r.body, headers: r.headers };
    },
    async post(path, f, opts = {}) {
      const body = new URLSearchParams(opts.csrf === false ? f : { _csrf: client.csrf, ...f }).toString();
      const r = await h.app.inject({ method: 'POST', url: path, headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: body });
      return { status: r.statusCode, body: r.body, headers: r.headers };
    },
  };
  return { status: res.statusCode, client, body: res.body };
}
