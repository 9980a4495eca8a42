/**
 * The server mode's guard and pages: on 127.0.0.1 only; a call without the token, with a wrong one,
 * with another site's Origin or a foreign Host header is refused, and so is the event WebSocket; the
 * printed URL's token becomes an HttpOnly SameSite cookie and leaves the address bar; pages carry the
 * Content-Security-Policy; a path out of the renderer's folder is not served; IPC calls from a page
 * other than the app's are refused.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unwrap } from '../core/errors.ts';
import { useTempDir } from '../core/testing-temp.ts';
import { API_CALL_PATH, API_EVENTS_PATH, TOKEN_COOKIE, TOKEN_HEADER } from './contract.ts';
import { ipcCallHandler } from './ipc.ts';
import { startAppServer, type AppServer } from './server.ts';
import { createApiService, type ApiService } from './service.ts';

const dir = useTempDir('api-server-');
let service: ApiService;
let server: AppServer;

beforeAll(async () => {
  const renderer = join(dir, 'renderer');
  mkdirSync(join(renderer, 'assets'), { recursive: true });
  writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>WeightSep</title><div id="app"></div>');
  writeFileSync(join(renderer, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(dir, 'secret.txt'), 'not for the browser');
  service = unwrap(createApiService({ dataDir: join(dir, 'data'), transport: 'server' }));
  server = unwrap(await startAppServer({ service, rendererDir: renderer }));
});
afterAll(async () => {
  await server.close();
  await service.close();
});

/** A raw request (fetch would not let a test set Host). */
function raw(
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        path,
        method: options.method ?? 'GET',
        headers: options.headers ?? {},
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const call = (headers: Record<string, string>, body = '{"method":"appInfo","args":[]}') =>
  raw(API_CALL_PATH, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

describe('the server mode', () => {
  it('prints a URL on 127.0.0.1 with a long random token', () => {
    expect(server.url).toMatch(
      new RegExp(`^http://127\\.0\\.0\\.1:${server.port}/\\?token=[A-Za-z0-9_-]{43}$`),
    );
  });

  it('answers a call with the token, and refuses one without it or with a wrong one', async () => {
    const good = await call({ [TOKEN_HEADER]: server.token });
    expect(good.status).toBe(200);
    expect(JSON.parse(good.body)).toMatchObject({ ok: true, value: { transport: 'server', apiVersion: 1 } });
    const none = await call({});
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body).error.message).toContain('no valid app token');
    expect((await call({ [TOKEN_HEADER]: `${server.token.slice(0, -1)}x` })).status).toBe(401);
    expect((await raw('/')).status).toBe(401);
    expect((await raw('/assets/app.js')).status).toBe(401);
  });

  it('shows a browser without the token a page that says what to open, with the Origin escaped', async () => {
    const page = await raw('/', { headers: { accept: 'text/html,application/xhtml+xml' } });
    expect(page.status).toBe(401);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('no valid app token');
    expect(page.body).toContain('wsep app');
    const hostile = await raw('/', {
      headers: { accept: 'text/html', origin: 'http://<script>alert(1)</script>' },
    });
    expect(hostile.status).toBe(403);
    expect(hostile.body).not.toContain('<script>');
    expect(hostile.body).toContain('&lt;script&gt;');
    // Calls stay JSON whatever they accept.
    const api = await call({ accept: 'text/html' });
    expect(JSON.parse(api.body).ok).toBe(false);
  });

  it('refuses another site’s Origin and a foreign Host even with the token', async () => {
    const origin = await call({ [TOKEN_HEADER]: server.token, origin: 'http://evil.example' });
    expect(origin.status).toBe(403);
    const host = await call({ [TOKEN_HEADER]: server.token, host: `rebound.example:${server.port}` });
    expect(host.status).toBe(403);
    const same = await call({ [TOKEN_HEADER]: server.token, origin: server.origin });
    expect(same.status).toBe(200);
  });

  it('turns the URL’s token into an HttpOnly SameSite cookie and redirects without it', async () => {
    const first = await raw(`/devices?token=${server.token}`);
    expect(first.status).toBe(302);
    expect(first.headers['location']).toBe('/devices');
    const cookie = String(first.headers['set-cookie']);
    expect(cookie).toContain(`${TOKEN_COOKIE}=`);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    const page = await raw('/devices', { headers: { cookie: cookie.split(';')[0]! } });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<div id="app">');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    const asset = await raw('/assets/app.js', { headers: { cookie: cookie.split(';')[0]! } });
    expect(asset.headers['content-type']).toContain('text/javascript');
    const byCookie = await call({ cookie: cookie.split(';')[0]! });
    expect(byCookie.status).toBe(200);
  });

  it('does not serve files outside the renderer, and refuses calls that are not JSON posts', async () => {
    const auth = { [TOKEN_HEADER]: server.token };
    const out = await raw('/%2e%2e/secret.txt', { headers: auth });
    expect(out.body).not.toContain('not for the browser');
    expect((await raw(API_CALL_PATH, { headers: auth })).status).toBe(405);
    const form = await raw(API_CALL_PATH, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'method=appInfo',
    });
    expect(form.status).toBe(415);
    expect((await call(auth, '{not json')).status).toBe(400);
  });

  it('opens the event WebSocket with the token and refuses it without', async () => {
    const open = (url: string, headers: Record<string, string> = {}) =>
      new Promise<'open' | number>((resolve) => {
        const ws = new WebSocket(url, { headers });
        ws.once('open', () => {
          ws.terminate();
          resolve('open');
        });
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('error', () => resolve(-1));
      });
    const base = `ws://127.0.0.1:${server.port}${API_EVENTS_PATH}`;
    expect(await open(`${base}?token=${server.token}`)).toBe('open');
    expect(await open(base)).toBe(401);
    expect(await open(`${base}?token=${server.token}`, { origin: 'http://evil.example' })).toBe(403);
  });

  it('refuses an IPC call from a page other than the app’s', async () => {
    const answer = ipcCallHandler(service);
    const refused = await answer('https://evil.example/', { method: 'appInfo', args: [] });
    expect(refused).toMatchObject({ ok: false, error: { code: 'E_USAGE' } });
    expect(await answer('wsep://app/index.html', { method: 'appInfo', args: [] })).toMatchObject({
      ok: true,
    });
  });
});
