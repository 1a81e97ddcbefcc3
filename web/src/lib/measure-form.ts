// The measure form's own checks, field by field, as the response API checks them (src/modules/response/schema.ts):
// the browser says what to fix under each field before anything is sent.

/** What is wrong with one field: a code the form names in the reader's language, and the value at fault. */
export type MeasureProblem =
  | { code: 'required' } | { code: 'tooLong'; max: number } | { code: 'domain'; value: string } | { code: 'prefix'; value: string }
  | { code: 'address'; value: string } | { code: 'port'; value: string } | { code: 'url'; value: string } | { code: 'email' }
  | { code: 'asn' } | { code: 'country' } | { code: 'oneTarget' };

const list = (text: string) => text.split(/[\s,]+/).filter((x) => x !== '');
const DOMAIN = /^(?=.{1,253}$)(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$/i;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** An IPv4 or IPv6 address (no prefix length). */
export function isAddress(v: string): boolean {
  if (IPV4.test(v)) return true;
  if (!v.includes(':') || !/^[0-9a-f:.]+$/i.test(v)) return false;
  const halves = v.split('::');
  if (halves.length > 2) return false;
  const groups = halves.flatMap((h) => (h === '' ? [] : h.split(':')));
  if (groups.some((g) => !/^[0-9a-f]{1,4}$/i.test(g) && !IPV4.test(g))) return false;
  return halves.length === 2 ? groups.length < 8 : groups.length === 8;
}

/** An address, or an address with its prefix length (`203.0.113.0/24`, `2001:db8::/32`). */
export function isPrefix(v: string): boolean {
  const [addr = '', len, extra] = v.split('/');
  if (extra !== undefined || !isAddress(addr)) return false;
  if (len === undefined) return true;
  return /^\d{1,3}$/.test(len) && Number(len) <= (addr.includes(':') ? 128 : 32);
}

/**
 * The problems of the measure form for its kind and agency, by field (empty when it may be sent). `form` holds the
 * text fields as typed; `kind` and `agency` come from the radio groups.
 */
export function checkMeasureForm(kind: string, agency: string, form: Readonly<Record<string, string>>): Record<string, MeasureProblem> {
  const out: Record<string, MeasureProblem> = {};
  const v = (k: string) => (form[k] ?? '').trim();
  const required = (k: string, max: number) => {
    if (v(k) === '') out[k] = { code: 'required' };
    else if (v(k).length > max) out[k] = { code: 'tooLong', max };
  };
  const each = (k: string, ok: (x: string) => boolean, code: 'domain' | 'prefix' | 'address' | 'url') => {
    const bad = list(v(k)).find((x) => !ok(x));
    if (bad !== undefined) out[k] = { code, value: bad };
  };
  required('title', 300);
  if (kind === 'dns_sinkhole') {
    if (list(v('domains')).length === 0) out['domains'] = { code: 'required' };
    else each('domains', (x) => DOMAIN.test(x), 'domain');
  }
  if (kind === 'block') {
    if (list(v('prefixes')).length === 0) out['prefixes'] = { code: 'required' };
    else each('prefixes', isPrefix, 'prefix');
  }
  if (kind === 'takedown_notice') {
    each('tdAddresses', isAddress, 'address');
    each('tdDomains', (x) => DOMAIN.test(x), 'domain');
    each('urls', (x) => /^https?:\/\/[^\s/]+/i.test(x), 'url');
    if (list(v('tdAddresses')).length + list(v('tdDomains')).length + list(v('urls')).length === 0 && out['tdAddresses'] === undefined) out['tdAddresses'] = { code: 'oneTarget' };
    required('hostName', 200);
    if (v('asn') !== '' && (!/^\d{1,10}$/.test(v('asn')) || Number(v('asn')) < 1 || Number(v('asn')) > 4_294_967_295)) out['asn'] = { code: 'asn' };
    if (v('abuse') === '') out['abuse'] = { code: 'required' };
    else if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v('abuse'))) out['abuse'] = { code: 'email' };
  }
  if (kind === 'access_neutralize') {
    if (v('address') === '') out['address'] = { code: 'required' };
    else if (!isAddress(v('address'))) out['address'] = { code: 'address', value: v('address') };
    const port = list(v('ports')).find((p) => !/^\d{1,5}$/.test(p) || Number(p) > 65_535);
    if (port !== undefined) out['ports'] = { code: 'port', value: port };
    required('description', 2000);
  }
  required('summary', 4000);
  required('expectedEffect', 2000);
  if (agency === 'sdf') {
    required('graveRef', 200);
    required('sdfReasons', 4000);
  }
  if (v('targetCountry') !== '' && !/^[A-Za-z]{2}$/.test(v('targetCountry'))) out['targetCountry'] = { code: 'country' };
  return out;
}
