/** @module Syntax checks of the values cyber-observables carry: addresses with optional CIDR prefix, domain names, URLs, e-mail and MAC addresses (STIX 2.1 §6). */
import { isIPv4, isIPv6 } from 'node:net';

const DOMAIN = /^(?=.{1,253}\.?$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.?$/i;
const EMAIL = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/i;

/** An IP address or CIDR block split into its parts. @see STIX 2.1 §6.4, §6.5 */
export interface AddressBlock {
  family: 4 | 6;
  address: string;
  prefixLength: number;
}

/** Reads `a.b.c.d[/n]` or an IPv6 address with optional `/n`; undefined when it is neither. @see STIX 2.1 §6.4, §6.5; RFC 4632 */
export function parseAddressBlock(value: string): AddressBlock | undefined {
  const slash = value.indexOf('/');
  const address = slash < 0 ? value : value.slice(0, slash);
  const family = isIPv4(address) ? 4 : isIPv6(address) ? 6 : undefined;
  if (family === undefined) return undefined;
  const max = family === 4 ? 32 : 128;
  if (slash < 0) return { family, address, prefixLength: max };
  const prefix = value.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefix) || Number(prefix) > max) return undefined;
  return { family, address, prefixLength: Number(prefix) };
}

/** True for a DNS name of letters, digits, hyphens (and underscores in labels), at most 253 characters. @see STIX 2.1 §6.3; RFC 1034 §3.5 */
export function isDomainName(value: string): boolean {
  return DOMAIN.test(value);
}

/** True for an absolute URL in printable ASCII. @see STIX 2.1 §6.16; RFC 3986 §4.3 */
export function isUrl(value: string): boolean {
  return /^[a-zA-Z][a-zA-Z0-9+.-]*:[\x21-\x7e]+$/.test(value) && URL.canParse(value);
}

/** True for an e-mail address without display name. @see STIX 2.1 §6.6; RFC 5322 §3.4.1 */
export function isEmailAddress(value: string): boolean {
  return EMAIL.test(value);
}

/** True for a MAC-48 address in the lower-case, colon-separated form STIX requires. @see STIX 2.1 §6.9 */
export function isMacAddress(value: string): boolean {
  return /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(value);
}
