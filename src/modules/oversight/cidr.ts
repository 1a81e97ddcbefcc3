/** @module Address prefixes: the one syntax check the schema and the scope rules share. */
import { isIP } from 'node:net';

/** True when `s` is an IPv4 or IPv6 prefix `address/length` with a valid length. @see RFC 4632 §3.1, RFC 4291 §2.3 */
export function isCidr(s: string): boolean {
  const slash = s.indexOf('/');
  if (slash < 0) return false;
  const addr = s.slice(0, slash);
  const lenText = s.slice(slash + 1);
  const family = isIP(addr);
  if (family === 0 || !/^(0|[1-9][0-9]{0,2})$/.test(lenText)) return false;
  return Number(lenText) <= (family === 4 ? 32 : 128);
}
