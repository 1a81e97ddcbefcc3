/** @module The registry's data shapes (zod is the single source of their types): sectors, designated operators, address ranges, exporters. */
import { isIP } from 'node:net';
import { z } from 'zod';
import { SECTORS, type Sector } from '#modules/identity/index.js';

/** Regimes beyond the Japanese act whose clocks a report may also drive. @see NIS2 Directive (EU) 2022/2555 Art. 23; CIRCIA 6 U.S.C. §681b */
export const REGIMES = ['nis2', 'circia'] as const;
/** One extra reporting regime. */
export type Regime = (typeof REGIMES)[number];

/** A competent ministry, by its short code. */
export type MinistryCode = 'METI' | 'MLIT' | 'MIC' | 'FSA';

/** Each sector's label and competent ministry (finance is delegated to the FSA). @see 重要電子計算機に対する不正な行為による被害の防止に関する法律 Art. 2 */
export const SECTOR_TABLE: Record<Sector, { ja: string; en: string; ministry: MinistryCode }> = {
  electricity: { ja: '電気', en: 'Electricity', ministry: 'METI' },
  gas: { ja: 'ガス', en: 'Gas', ministry: 'METI' },
  water: { ja: '水道', en: 'Water', ministry: 'MLIT' },
  railway: { ja: '鉄道', en: 'Railway', ministry: 'MLIT' },
  trucking: { ja: '貨物自動車運送', en: 'Trucking', ministry: 'MLIT' },
  aviation: { ja: '航空', en: 'Aviation', ministry: 'MLIT' },
  airport: { ja: '空港', en: 'Airports', ministry: 'MLIT' },
  ocean_shipping: { ja: '外航海運', en: 'Ocean shipping', ministry: 'MLIT' },
  port: { ja: '港湾', en: 'Ports', ministry: 'MLIT' },
  oil: { ja: '石油', en: 'Oil', ministry: 'METI' },
  telecommunications: { ja: '電気通信', en: 'Telecommunications', ministry: 'MIC' },
  broadcasting: { ja: '放送', en: 'Broadcasting', ministry: 'MIC' },
  postal: { ja: '郵便', en: 'Postal', ministry: 'MIC' },
  finance: { ja: '金融', en: 'Finance', ministry: 'FSA' },
  credit_card: { ja: 'クレジットカード', en: 'Credit cards', ministry: 'METI' },
};

/** Ministry names by code, Japanese and English. */
export const MINISTRIES: Record<MinistryCode, { ja: string; en: string }> = {
  METI: { ja: '経済産業省', en: 'Ministry of Economy, Trade and Industry' },
  MLIT: { ja: '国土交通省', en: 'Ministry of Land, Infrastructure, Transport and Tourism' },
  MIC: { ja: '総務省', en: 'Ministry of Internal Affairs and Communications' },
  FSA: { ja: '金融庁', en: 'Financial Services Agency' },
};

/** Parses `a.b.c.d/n` or `x::/n`; returns the normalized text or undefined. */
export function normalizeCidr(text: string): string | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text.trim());
  if (m === null) return undefined;
  const addr = m[1]!;
  const len = Number(m[2]);
  const v = isIP(addr);
  if (v === 0 || (v === 4 && len > 32) || (v === 6 && len > 128)) return undefined;
  return `${addr.toLowerCase()}/${len}`;
}

/** True when `address` lies in `cidr` (same family). */
export function cidrContains(cidr: string, address: string): boolean {
  const [base, lenText] = cidr.split('/');
  const len = Number(lenText);
  const a = addressBits(base ?? '');
  const b = addressBits(address);
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < len; i++) if (a[i] !== b[i]) return false;
  return true;
}

function addressBits(address: string): number[] | undefined {
  const v = isIP(address);
  const bytes: number[] = [];
  if (v === 4) bytes.push(...address.split('.').map(Number));
  else if (v === 6) {
    let text = address;
    const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
    if (tail !== null) {
      const p = tail[1]!.split('.').map(Number);
      text = text.slice(0, -tail[1]!.length) + `${((p[0]! << 8) | p[1]!).toString(16)}:${((p[2]! << 8) | p[3]!).toString(16)}`;
    }
    const [head, rest] = text.split('::');
    const h = head === '' || head === undefined ? [] : head.split(':');
    const r = rest === undefined || rest === '' ? [] : rest.split(':');
    const groups = rest === undefined ? h : [...h, ...new Array<string>(8 - h.length - r.length).fill('0'), ...r];
    for (const g of groups) { const n = parseInt(g, 16); bytes.push(n >> 8, n & 0xff); }
  } else return undefined;
  const bits: number[] = [];
  for (const byte of bytes) for (let i = 7; i >= 0; i--) bits.push((byte >> i) & 1);
  return bits;
}

const Cidr = z.string().max(64).refine((s) => normalizeCidr(s) !== undefined, 'must be an IPv4 or IPv6 prefix such as 192.0.2.0/24 or 2001:db8::/32');

/** A contact person of a designated operator. */
export const ContactSchema = z.object({
  name: z.string().min(1).max(200),
  email: z.string().email().max(200),
  phone: z.string().regex(/^[+0-9 ()-]{6,32}$/, 'digits, spaces, + ( ) - only').optional(),
  role: z.string().max(100).optional(),
}).strict();
/** A contact person. */
export type Contact = z.infer<typeof ContactSchema>;

/** Designating an operator: an existing organization of kind operator, or a new one by name. */
export const DesignationInputSchema = z.object({
  orgId: z.string().uuid().optional(),
  name: z.string().min(1).max(200).optional(),
  nameJa: z.string().min(1).max(200).optional(),
  sector: z.enum(SECTORS),
  designatedOn: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD'),
  contacts: z.array(ContactSchema).min(1, 'give at least one contact').max(20),
  regimes: z.array(z.enum(REGIMES)).max(REGIMES.length).default([]),
}).strict().refine((v) => (v.orgId === undefined) !== (v.name === undefined), { message: 'give either orgId (an existing organization) or name (a new one)', path: ['orgId'] });
/** Input of a designation. */
export type DesignationInput = z.input<typeof DesignationInputSchema>;

/** An address range of an operator. */
export const RangeInputSchema = z.object({ cidr: Cidr, note: z.string().max(200).optional() }).strict();
/** An exporter of an operator (a router sending flow records). */
export const ExporterInputSchema = z.object({
  address: z.string().max(64).refine((s) => isIP(s) !== 0, 'must be an IPv4 or IPv6 address'),
  observationDomain: z.number().int().min(0).max(0xffffffff),
  name: z.string().max(200).optional(),
}).strict();

/** A designated operator as the API returns it. */
export interface DesignatedOperator {
  orgId: string;
  name: string;
  nameJa: string | null;
  sector: Sector;
  designatedOn: string;
  contacts: Contact[];
  regimes: Regime[];
  ranges: { id: string; cidr: string; note: string | null }[];
  exporters: { id: string; address: string; observationDomain: number; name: string | null }[];
}
