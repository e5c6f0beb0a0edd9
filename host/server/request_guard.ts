// Who may talk to a listener, judged from the Host and Origin headers. Shared
// by the operator server (/metrics, /api/*, /live, /topics) and the WebSocket
// source (/ingest); it answers a refusal reason or undefined.
//
// Two browser attacks are closed here:
// - Cross-site WebSocket hijacking: any page the user opens can open a
//   WebSocket to 127.0.0.1 (browsers apply no same-origin policy to WebSocket)
//   and read every output. Browsers always send `Origin` on a WebSocket
//   upgrade, so an Origin that is not ours is refused. Non-browser clients
//   send no Origin and are not affected.
// - DNS rebinding: a page on evil.example re-resolves its own name to
//   127.0.0.1 and reads /metrics "same-origin". Its requests still carry
//   `Host: evil.example`, so a Host that is not ours is refused.
//
// A Host that is an IP literal is always ours: rebinding needs a name the
// attacker controls, and a page served from an IP is its own origin. So by
// default a listener answers to IP literals, `localhost` (and *.localhost),
// and the name it was bound to; `allowed_hosts` adds names ("*" = any).
// An Origin is ours when it names a loopback host, the bind host, or exactly
// the Host of the request (a page this server served, e.g. the dashboard
// opened as http://10.0.0.5:9464); `allowed_origins` adds origins ("*" = any).
import { isIP } from 'node:net';

export interface GuardOptions {
  /** The address the listener is bound to (as configured). */
  bindHost: string;
  /** Extra Host names accepted (case-insensitive, without port); "*" accepts any. */
  allowedHosts?: readonly string[];
  /** Extra origins accepted ("https://app.example:8443"); "*" accepts any. */
  allowedOrigins?: readonly string[];
  /** Config path of the listener's settings, named in refusals ("server", "sources[0]"). */
  where: string;
}

/** Loopback: 127.0.0.0/8, ::1 (also IPv4-mapped), localhost and *.localhost (RFC 6761). */
export function isLoopback(host: string): boolean {
  const h = stripBrackets(host).toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) {
    // The URL parser spells every IPv6 address one canonical way (::1, ::ffff:7f00:1).
    const canonical = new URL(`http://[${h}]/`).hostname.slice(1, -1);
    return canonical === '::1' || /^::ffff:7f[0-9a-f]{2}:/.test(canonical);
  }
  return false;
}

function stripBrackets(h: string): string {
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

/** The host name of a Host header value ("example.com:80" → "example.com", "[::1]:9" → "::1"). */
export function hostName(hostHeader: string): string {
  const v = hostHeader.trim().toLowerCase();
  if (v.startsWith('[')) {
    const end = v.indexOf(']');
    return end < 0 ? v : v.slice(1, end);
  }
  const colon = v.indexOf(':');
  // More than one colon and no brackets: a bare IPv6 literal (not valid in Host, but unambiguous).
  if (colon >= 0 && v.indexOf(':', colon + 1) >= 0) return v;
  return colon < 0 ? v : v.slice(0, colon);
}

const WILDCARD_BIND = new Set(['0.0.0.0', '::', '[::]', '']);

export class RequestGuard {
  private readonly hosts: Set<string>;
  private readonly anyHost: boolean;
  private readonly origins: Set<string>;
  private readonly anyOrigin: boolean;
  private readonly bind: string | undefined;

  constructor(private readonly opts: GuardOptions) {
    const bind = stripBrackets(opts.bindHost.trim().toLowerCase());
    this.bind = WILDCARD_BIND.has(bind) ? undefined : bind;
    this.anyHost = opts.allowedHosts?.includes('*') ?? false;
    this.hosts = new Set((opts.allowedHosts ?? []).map((h) => stripBrackets(h.trim().toLowerCase())));
    this.anyOrigin = opts.allowedOrigins?.includes('*') ?? false;
    this.origins = new Set((opts.allowedOrigins ?? []).map((o) => o.trim().toLowerCase().replace(/\/+$/, '')));
  }

  /** undefined when `host` (the Host header) is acceptable, else why not. A missing Host (HTTP/1.0 tools) passes. */
  checkHost(host: string | undefined): string | undefined {
    if (host === undefined || host === '' || this.anyHost) return undefined;
    const name = hostName(host);
    if (isIP(name) !== 0 || isLoopback(name) || name === this.bind || this.hosts.has(name)) return undefined;
    return `Host "${host.slice(0, 100)}" is not allowed (DNS rebinding protection); add "${name.slice(0, 100)}" to ${this.opts.where}.allowed_hosts to serve it`;
  }

  /** undefined when `origin` (the Origin header, absent for non-browser clients) may connect, else why not. */
  checkOrigin(origin: string | undefined, host: string | undefined): string | undefined {
    if (origin === undefined || this.anyOrigin) return undefined;
    const o = origin.trim().toLowerCase().replace(/\/+$/, '');
    if (this.origins.has(o)) return undefined;
    let url: URL | undefined;
    try { url = o === 'null' ? undefined : new URL(o); } catch { url = undefined; }
    if (url && (url.protocol === 'http:' || url.protocol === 'https:')) {
      const name = stripBrackets(url.hostname);
      if (isLoopback(name) || name === this.bind) return undefined;
      if (host !== undefined && url.host === host.trim().toLowerCase()) return undefined;
    }
    return `Origin "${origin.slice(0, 100)}" is not allowed (cross-site WebSocket protection); add it to ${this.opts.where}.allowed_origins to accept it`;
  }
}

// ── who may bind where ──────────────────────────────────────────────────────

/** Tokens copied from examples and tutorials: refused wherever they appear. */
const EXAMPLE_TOKENS = new Set(['change-me', 'changeme', 'change_me', 'changeit', 'secret', 'password', 'token', 'test', 'example', 'default', 'admin', 'ganglion', 'your-token', 'your_token', 'replace-me', 'xxx']);

/** A token guarding a listener reachable from the network is at least this long. */
const MIN_NETWORK_TOKEN_LENGTH = 16;

/**
 * Why a listener on `host` with `token` must not start, or undefined. A
 * loopback listener is reachable only from this machine (and browsers are kept
 * out by RequestGuard), so it may run without a token; any other address needs
 * a token that is not an example value and is long enough not to be guessed.
 * Returns which setting is wrong ('host' or 'token') with the message.
 */
export function bindProblem(host: string, token: string | undefined): { field: 'host' | 'token'; message: string } | undefined {
  if (token !== undefined && EXAMPLE_TOKENS.has(token.trim().toLowerCase())) {
    return { field: 'token', message: `expected a real secret, not the example token "${token}" (set it from the environment: auth_token: \${GANGLION_TOKEN})` };
  }
  if (isLoopback(host)) return undefined;
  if (token === undefined) {
    return { field: 'host', message: `expected a loopback host (127.0.0.1) or an auth_token: "${host}" is reachable from the network and anyone there could send events` };
  }
  if (token.length < MIN_NETWORK_TOKEN_LENGTH) {
    return { field: 'token', message: `expected a token of at least ${MIN_NETWORK_TOKEN_LENGTH} characters on a non-loopback host ("${host}"); this one has ${token.length}` };
  }
  return undefined;
}
