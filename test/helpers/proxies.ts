import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect, createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Real gateways in front of Keyport, for the tests: Debian's nginx (auth_request) and Caddy
 * (forward_auth), each started on a free loopback port with the configuration printed on its page
 * under docs/gateways/, in a temporary directory of its own, and stopped by its pid.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const NGINX = process.env.KEYPORT_TEST_NGINX ?? '/usr/sbin/nginx';
export const CADDY = process.env.KEYPORT_TEST_CADDY ?? '/usr/bin/caddy';

/**
 * Is this gateway installed? Without it the suite skips its tests loudly, except under CI=true,
 * where a missing gateway is a failure.
 */
export function gatewayInstalled(name: 'nginx' | 'caddy'): boolean {
  const binary = name === 'nginx' ? NGINX : CADDY;
  if (existsSync(binary)) return true;
  const message = `${name} is not installed at ${binary} (apt-get install ${name === 'nginx' ? 'nginx-light' : 'caddy'})`;
  if (process.env.CI === 'true') throw new Error(`${message}: the gateway tests need it`);
  process.stderr.write(`\n*** SKIPPING the ${name} gateway tests: ${message} ***\n\n`);
  return false;
}

/**
 * The configuration a gateway's page prints: the fenced block after `<!-- keyport:tested-config -->`
 * in docs/gateways/<name>.md, with each placeholder replaced. Every placeholder must occur, so a
 * page that changes its addresses fails here rather than testing something else.
 */
export function pageConfig(name: 'nginx' | 'caddy', replacements: Record<string, string>): string {
  const page = gatewayPage(name);
  const match = /<!-- keyport:tested-config -->\n```[a-z]*\n([\s\S]*?)\n```/.exec(page);
  if (!match) throw new Error(`docs/gateways/${name}.md has no block marked <!-- keyport:tested-config -->`);
  let config = match[1]!;
  for (const [from, to] of Object.entries(replacements)) {
    if (!config.includes(from)) throw new Error(`the configuration on docs/gateways/${name}.md no longer contains ${JSON.stringify(from)}`);
    config = config.split(from).join(to);
  }
  return config;
}

/** The text of a gateway's page under docs/gateways/. */
export const gatewayPage = (name: 'nginx' | 'caddy' | 'traefik' | 'envoy') => readFileSync(join(ROOT, 'docs', 'gateways', `${name}.md`), 'utf8');

/** A free TCP port on loopback (the kernel picks it; a gateway that loses the race is started again). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createTcpServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface Gateway {
  /** http://127.0.0.1:<port> */
  url: string;
  /** What the gateway printed and logged so far. */
  output(): string;
  /** Stops it (by pid) and removes its directory. */
  stop(): Promise<void>;
}

export interface GatewayOptions {
  /** host:port of Keyport. */
  keyport: string;
  /** host:port of the API behind the gateway. */
  upstream: string;
  serviceToken: string;
}

/** nginx with the page's configuration, inside a main configuration that keeps everything in its own directory. */
export async function startNginx(options: GatewayOptions): Promise<Gateway> {
  return startWithRetry(async (port) => {
    const dir = mkdtempSync(join(tmpdir(), 'keyport-nginx-'));
    // Worker processes run as an unprivileged user when the test runs as root: they must reach the temp paths.
    chmodSync(dir, 0o755);
    const site = pageConfig('nginx', {
      'listen 80;': `listen 127.0.0.1:${port};`,
      'server 127.0.0.1:8080;': `server ${options.keyport};`,
      'server 127.0.0.1:3000;': `server ${options.upstream};`,
      '<your service token>': options.serviceToken,
    });
    writeFileSync(join(dir, 'site.conf'), site);
    writeFileSync(
      join(dir, 'nginx.conf'),
      [
        'daemon off;',
        'worker_processes 1;',
        `pid ${join(dir, 'nginx.pid')};`,
        `error_log ${join(dir, 'error.log')} info;`,
        'events { worker_connections 256; }',
        'http {',
        `    access_log ${join(dir, 'access.log')};`,
        ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `    ${t}_temp_path ${join(dir, t)};`),
        `    include ${join(dir, 'site.conf')};`,
        '}',
        '',
      ].join('\n'),
    );
    const child = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    return launched(child, port, dir, () => readIfThere(join(dir, 'error.log')));
  });
}

/** Caddy with the page's Caddyfile, its state (HOME, XDG dirs) in its own directory, no admin endpoint. */
export async function startCaddy(options: GatewayOptions): Promise<Gateway> {
  return startWithRetry(async (port) => {
    const dir = mkdtempSync(join(tmpdir(), 'keyport-caddy-'));
    const site = pageConfig('caddy', {
      'forward_auth 127.0.0.1:8080': `forward_auth ${options.keyport}`,
      '127.0.0.1:3000': options.upstream,
      'api.example.com {': `http://127.0.0.1:${port} {`,
    });
    // The page's configuration after the test's global options (only one such block may lead a Caddyfile).
    writeFileSync(join(dir, 'Caddyfile'), `{\n\tadmin off\n\tauto_https off\n}\n\n${site}\n`);
    const child = spawn(CADDY, ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '', HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config'), KEYPORT_SERVICE_TOKEN: options.serviceToken },
    });
    return launched(child, port, dir, () => '');
  });
}

async function startWithRetry(start: (port: number) => Promise<Gateway>): Promise<Gateway> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await start(await freePort());
    } catch (err) {
      lastError = err;
      if (!/address already in use/i.test(String(err))) throw err;
    }
  }
  throw lastError;
}

/** Waits until the gateway accepts connections on `port` (10 s at most); fails with its output if it exits first. */
async function launched(child: ChildProcess, port: number, dir: string, log: () => string): Promise<Gateway> {
  let printed = '';
  child.stdout!.on('data', (d) => (printed += d));
  child.stderr!.on('data', (d) => (printed += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const output = () => `${printed}${log()}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const text = output();
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`the gateway exited before it listened on ${port}:\n${text}`);
    }
    if (await accepts(port)) return { url: `http://127.0.0.1:${port}`, output, stop };
    if (Date.now() > deadline) {
      const text = output();
      await stop();
      throw new Error(`the gateway did not listen on ${port} within 10 s:\n${text}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

const readIfThere = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : '');

/** One request as the API behind the gateway received it. */
export interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** The API behind the gateway: answers 200 with what it received (method, URL, headers, body), and keeps a list of it. */
export interface EchoServer {
  /** host:port */
  address: string;
  received: Received[];
  close(): Promise<void>;
}

export async function startEchoServer(): Promise<EchoServer> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const seen = { method: req.method!, url: req.url!, headers: req.headers, body };
      received.push(seen);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(seen));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${port}`,
    received,
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}
