import { NexusError } from '../errors/index.js';

export interface UrlPolicyOptions {
  /** Regexes; when any allow list is non-empty, a URL must match one entry of either list. */
  allowedUrls: readonly string[];
  /** Regexes tested first; a match refuses the URL. */
  blockedUrls: readonly string[];
  /**
   * Block patterns that stand for private address ranges (the original's defaults). The address
   * guard covers what they meant, so an exact-target entry overrides them as it overrides the guard.
   */
  privateRangePatterns?: readonly string[];
  /** `host`, `host:port`, `[v6]:port` or `*.domain` entries. */
  allowedHosts: readonly string[];
}

/** A scheme + host + port named exactly by an allow-list entry. */
interface ExactTarget {
  protocol: string | undefined;
  hostname: string;
  port: string | undefined;
}

interface HostEntry {
  target: ExactTarget | undefined;
  /** `*.example.com` → `.example.com`: subdomains only; never an exact target. */
  suffix: string | undefined;
}

/** What the policy decided: `explicit` means an entry names this exact target. */
export interface UrlVerdict {
  explicit: boolean;
}

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443' };

function effectivePort(url: URL): string {
  return url.port || (DEFAULT_PORTS[url.protocol] ?? '');
}

/**
 * `http_client` URL rules: the original's `blocked_urls`/`allowed_urls` regexes (tested on the
 * normalised URL, so `HTTP://0x7f000001` is seen as `http://127.0.0.1/`) plus an `allowed_hosts`
 * list. An entry that names one exact target (a host entry without wildcard, or an anchored URL
 * regex whose literal start spells out scheme, host and port) is *explicit*: it admits that target
 * even when it is private or loopback (the address guard and the private-range block patterns
 * step aside). Other block patterns always apply; other allow entries only narrow.
 */
export class UrlPolicy {
  private readonly allowed: Array<{ pattern: string; regex: RegExp; target: ExactTarget | undefined }>;
  private readonly blocked: Array<{ pattern: string; regex: RegExp; privateRange: boolean }>;
  private readonly hosts: HostEntry[];

  constructor(options: UrlPolicyOptions) {
    const privateRanges = new Set(options.privateRangePatterns ?? []);
    this.allowed = options.allowedUrls.map((pattern) => ({ pattern, regex: compile(pattern, 'allowed_urls'), target: targetOfPattern(pattern) }));
    this.blocked = options.blockedUrls.map((pattern) => ({ pattern, regex: compile(pattern, 'blocked_urls'), privateRange: privateRanges.has(pattern) }));
    this.hosts = options.allowedHosts.map(parseHostEntry);
  }

  /** URL_NOT_ALLOWED unless the URL passes; says whether an explicit entry names its target. */
  check(url: URL, raw: string = url.href): UrlVerdict {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new NexusError('URL_NOT_ALLOWED', `Only http and https URLs are allowed, not ${url.protocol}`, { details: { url: url.href, reason: 'scheme' } });
    }
    const explicit = this.isExplicit(url);
    const blocked = this.blocked.find((entry) => !(explicit && entry.privateRange) && (entry.regex.test(url.href) || entry.regex.test(raw)));
    if (blocked) {
      throw new NexusError('URL_NOT_ALLOWED', `URL blocked by pattern: ${blocked.pattern}`, { details: { url: url.href, reason: 'blocked_pattern', pattern: blocked.pattern } });
    }
    if (explicit) return { explicit };
    const restricted = this.allowed.length > 0 || this.hosts.length > 0;
    if (restricted && !this.allowed.some((entry) => entry.regex.test(url.href)) && !this.hosts.some((entry) => hostMatches(entry, url))) {
      throw new NexusError('URL_NOT_ALLOWED', `URL not in allowed list (http_client.allowed_urls / allowed_hosts): ${url.href}`, { details: { url: url.href, reason: 'not_allowed' } });
    }
    return { explicit: false };
  }

  private isExplicit(url: URL): boolean {
    const named = (target: ExactTarget | undefined): boolean => target !== undefined && targetMatches(target, url);
    return this.hosts.some((entry) => named(entry.target)) || this.allowed.some((entry) => named(entry.target) && entry.regex.test(url.href));
  }
}

function compile(pattern: string, setting: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch (error) {
    throw new NexusError('CONFIG_INVALID', `http_client.${setting} has an invalid regular expression ${JSON.stringify(pattern)}: ${(error as Error).message}`, { details: { setting, pattern } });
  }
}

function targetMatches(target: ExactTarget, url: URL): boolean {
  return (
    target.hostname === url.hostname &&
    (target.protocol === undefined || target.protocol === url.protocol) &&
    (target.port === undefined || target.port === effectivePort(url))
  );
}

function hostMatches(entry: HostEntry, url: URL): boolean {
  if (entry.target) return targetMatches(entry.target, url);
  return entry.suffix !== undefined && url.hostname.endsWith(entry.suffix);
}

/** Host names go through the WHATWG parser, so `0x7f000001`, `LOCALHOST.` or IDN compare in URL form. */
function normaliseHost(host: string): string | undefined {
  try {
    return new URL(`http://${host}/`).hostname;
  } catch {
    return undefined;
  }
}

function parseHostEntry(entry: string): HostEntry {
  const trimmed = entry.trim().toLowerCase();
  if (trimmed.startsWith('*.')) return { target: undefined, suffix: `.${normaliseHost(trimmed.slice(2)) ?? trimmed.slice(2)}` };
  const match = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(trimmed);
  const hostname = match?.[1] === undefined ? undefined : normaliseHost(match[1]);
  if (hostname === undefined) {
    throw new NexusError('CONFIG_INVALID', `http_client.allowed_hosts entry ${JSON.stringify(entry)} is not "host", "host:port", "[ipv6]:port" or "*.domain"`, { details: { setting: 'allowed_hosts', entry } });
  }
  return { target: { protocol: undefined, hostname, port: match?.[2] === undefined ? undefined : String(Number(match[2])) }, suffix: undefined };
}

/**
 * The exact target an anchored URL regex spells out, if any: `^http://127\.0\.0\.1:8080/` names
 * http + 127.0.0.1 + 8080. The literal start must reach past the authority (to `/`, `?`, `#` or
 * a final `$`), so `^http://127\.0\.0\.1` (which also matches `127.0.0.1.evil.example`) does not.
 * Unescaped dots are read as dots: the request's host must still equal the named host exactly.
 */
export function targetOfPattern(pattern: string): ExactTarget | undefined {
  if (!pattern.startsWith('^')) return undefined;
  let literal = '';
  let anchoredEnd = false;
  for (let index = 1; index < pattern.length; index += 1) {
    const char = pattern.charAt(index);
    if (char === '\\') {
      const next = pattern.charAt(index + 1);
      if (next === '' || /[A-Za-z0-9]/.test(next)) break;
      literal += next;
      index += 1;
    } else if (char === '$') {
      anchoredEnd = index === pattern.length - 1;
      break;
    } else if ('*+?{'.includes(char)) {
      literal = literal.slice(0, -1); // the quantified character is not certain
      break;
    } else if ('()[]|^'.includes(char)) {
      break;
    } else {
      literal += char;
    }
  }
  const match = /^(https?):\/\/([^/?#]+)([/?#]|$)/i.exec(literal);
  if (!match || (match[3] === '' && !anchoredEnd)) return undefined;
  try {
    const url = new URL(`${match[1]}://${match[2]}/`);
    return { protocol: url.protocol, hostname: url.hostname, port: effectivePort(url) };
  } catch {
    return undefined;
  }
}
