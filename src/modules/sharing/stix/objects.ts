/** @module zod 4 schemas of the STIX 2.1 objects mamori reads and writes, TLP markings, and bundle import/export (STIX 2.1 §3–§8). */
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { AppError, err, fieldIssuesFromZod, ok, type Result } from '#platform/errors/index.js';
import { scoId, stixId } from './ids.js';
import { parsePattern } from './pattern.js';
import { compareTimestampText, isValidTimestampText } from './timestamps.js';
import { isDomainName, isEmailAddress, isMacAddress, isUrl, parseAddressBlock } from './values.js';
import { isKnownScoType, SDO_SRO_TYPES } from './vocabulary.js';

// ---------------------------------------------------------------------------------------------
// Building blocks

const UUID = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}';
const IDENTIFIER = new RegExp(`^([a-z][a-z0-9-]+[a-z0-9])--${UUID}$`);
const EXTENSION_DEFINITION_KEY = new RegExp(`^extension-definition--${UUID}$`);
const TYPE_NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*-?$/;
const PROPERTY_NAME = /^[a-z][a-z0-9_]{2,249}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// Properties STIX reserves for future use; objects must not carry them (STIX 2.1 §3.1, core schema).
const RESERVED_PROPERTIES = ['severity', 'action', 'username', 'phone_numbers'];

/** A STIX type name: lower-case letters, digits and hyphens, 3–250 characters. @see STIX 2.1 §3.1 */
export const typeNameSchema = z
  .string()
  .min(3, 'type names have at least 3 characters')
  .max(250, 'type names have at most 250 characters')
  .regex(TYPE_NAME, 'type names use only a-z, 0-9 and hyphens, starting with a letter');

/** A STIX identifier: `type--UUID`. @see STIX 2.1 §2.9 */
export const identifierSchema = z.string().regex(IDENTIFIER, 'must be an identifier of the form type--UUID');

/** An identifier that must point at one of `types`. @see STIX 2.1 §2.9 */
export function refSchema(...types: string[]): z.ZodString {
  const prefixes = types.map((t) => `${t}--`);
  return identifierSchema.refine((id) => prefixes.some((p) => id.startsWith(p)), `must reference ${types.join(' or ')}`) as unknown as z.ZodString;
}

/** An RFC 3339 timestamp in UTC (`Z`). @see STIX 2.1 §2.15 */
export const timestampSchema = z.string().refine(isValidTimestampText, 'must be an RFC 3339 UTC timestamp such as 2026-01-31T09:00:00.000Z');

/** A timestamp precise to the millisecond, as `created` and `modified` require. @see STIX 2.1 §3.2 */
export const timestampMillisSchema = timestampSchema.refine(
  (t) => /\.\d{3,}Z$/.test(t),
  'must be precise to the millisecond, such as 2026-01-31T09:00:00.000Z',
);

const HASH_FORMATS: Readonly<Record<string, RegExp>> = {
  MD5: /^[a-fA-F0-9]{32}$/,
  'SHA-1': /^[a-fA-F0-9]{40}$/,
  'SHA-256': /^[a-fA-F0-9]{64}$/,
  'SHA-512': /^[a-fA-F0-9]{128}$/,
  'SHA3-256': /^[a-fA-F0-9]{64}$/,
  'SHA3-512': /^[a-fA-F0-9]{128}$/,
  SSDEEP: /^[a-zA-Z0-9/+:.]{1,128}$/,
  TLSH: /^[a-zA-Z0-9]{70}$/,
};

/** A hashes dictionary; the hash algorithms STIX names must have their digest's form. @see STIX 2.1 §2.7, §10.5 */
export const hashesSchema = z.record(z.string().regex(/^[a-zA-Z0-9_-]{3,250}$/, 'hash names have 3–250 letters, digits, - or _'), z.string()).superRefine((h, ctx) => {
  for (const [name, value] of Object.entries(h)) {
    const format = HASH_FORMATS[name];
    if (format !== undefined && !format.test(value)) ctx.addIssue({ code: 'custom', path: [name], message: `is not a valid ${name} digest` });
  }
  if (Object.keys(h).length === 0) ctx.addIssue({ code: 'custom', message: 'must hold at least one hash' });
});

/** An external reference: a source name plus at least one of description, url or external_id. @see STIX 2.1 §2.5 */
export const externalReferenceSchema = z
  .looseObject({
    source_name: z.string().min(1, 'name the source'),
    description: z.string().optional(),
    url: z.url('must be a URL').optional(),
    hashes: hashesSchema.optional(),
    external_id: z.string().optional(),
  })
  .superRefine((r, ctx) => {
    if (r.description === undefined && r.url === undefined && r.external_id === undefined) {
      ctx.addIssue({ code: 'custom', message: 'give at least one of description, url or external_id' });
    }
    if (r.source_name === 'cve' && !/^CVE-\d{4}-(0\d{3}|[1-9]\d{3,})$/.test(r.external_id ?? '')) {
      ctx.addIssue({ code: 'custom', path: ['external_id'], message: 'a cve reference needs external_id CVE-YYYY-NNNN' });
    }
    if (r.source_name === 'capec' && !/^CAPEC-\d+$/.test(r.external_id ?? '')) {
      ctx.addIssue({ code: 'custom', path: ['external_id'], message: 'a capec reference needs external_id CAPEC-N' });
    }
  });

/** A kill-chain phase. @see STIX 2.1 §2.8 */
export const killChainPhaseSchema = z.looseObject({ kill_chain_name: z.string().min(1), phase_name: z.string().min(1) });

/** A granular marking: selectors plus exactly one of marking_ref or lang. @see STIX 2.1 §7.2.3 */
export const granularMarkingSchema = z
  .looseObject({
    selectors: z.array(z.string().regex(/^([a-z0-9_-]{3,249}(\.(\[\d+\]|[a-z0-9_-]{1,250}))*|id)$/, 'is not a valid selector')).min(1),
    marking_ref: refSchema('marking-definition').optional(),
    lang: z.string().optional(),
  })
  .refine((g) => (g.marking_ref === undefined) !== (g.lang === undefined), 'give exactly one of marking_ref or lang');

const EXTENSION_TYPES = ['new-sdo', 'new-sco', 'new-sro', 'property-extension', 'toplevel-property-extension'] as const;

/** The extensions dictionary: extension-definition ids (with extension_type) or predefined `-ext` names. @see STIX 2.1 §7.3 */
export const extensionsSchema = z.record(z.string(), z.record(z.string(), z.unknown())).superRefine((exts, ctx) => {
  if (Object.keys(exts).length === 0) ctx.addIssue({ code: 'custom', message: 'leave extensions out rather than empty' });
  for (const [key, ext] of Object.entries(exts)) {
    for (const name of Object.keys(ext)) {
      if (name !== 'id' && !PROPERTY_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [key, name], message: 'property names have 3–250 characters from a-z, 0-9 and _' });
    }
    if (EXTENSION_DEFINITION_KEY.test(key)) {
      if (!EXTENSION_TYPES.includes(ext['extension_type'] as (typeof EXTENSION_TYPES)[number])) {
        ctx.addIssue({ code: 'custom', path: [key, 'extension_type'], message: `must be one of ${EXTENSION_TYPES.join(', ')}` });
      }
    } else if (/^[a-z][a-z0-9]*(?:-[a-z0-9]+)*-ext$/.test(key)) {
      if (Object.keys(ext).length === 0) ctx.addIssue({ code: 'custom', path: [key], message: 'an extension holds at least one property' });
    } else {
      ctx.addIssue({ code: 'custom', path: [key], message: 'extension keys are extension-definition ids or predefined names ending in -ext' });
    }
  }
});

const nonEmptyStrings = z.array(z.string()).min(1, 'leave the list out rather than empty');

const sdoCommonShape = {
  type: typeNameSchema,
  spec_version: z.literal('2.1', 'must be "2.1"'),
  id: identifierSchema,
  created_by_ref: refSchema('identity').optional(),
  created: timestampMillisSchema,
  modified: timestampMillisSchema,
  revoked: z.boolean().optional(),
  labels: nonEmptyStrings.optional(),
  confidence: z.int().min(0).max(100).optional(),
  lang: z.string().regex(/^[a-zA-Z]{2,8}(-[a-zA-Z0-9]{1,8})*$/, 'must be an RFC 5646 language tag').optional(),
  external_references: z.array(externalReferenceSchema).min(1).optional(),
  object_marking_refs: z.array(refSchema('marking-definition')).min(1).optional(),
  granular_markings: z.array(granularMarkingSchema).min(1).optional(),
  extensions: extensionsSchema.optional(),
};

const scoCommonShape = {
  type: typeNameSchema,
  id: identifierSchema,
  spec_version: z.literal('2.1', 'must be "2.1"').optional(),
  object_marking_refs: z.array(refSchema('marking-definition')).min(1).optional(),
  granular_markings: z.array(granularMarkingSchema).min(1).optional(),
  defanged: z.boolean().optional(),
  extensions: extensionsSchema.optional(),
};

type Ctx = z.core.$RefinementCtx;

function issue(ctx: Ctx, path: PropertyKey[], message: string): void {
  ctx.addIssue({ code: 'custom', path, message });
}

function checkCommon(o: Record<string, unknown>, ctx: Ctx): void {
  const id = o['id'];
  if (typeof id === 'string' && !id.startsWith(`${String(o['type'])}--`)) issue(ctx, ['id'], `must start with ${String(o['type'])}--`);
  for (const key of Object.keys(o)) {
    if (key !== 'id' && !PROPERTY_NAME.test(key)) issue(ctx, [key], 'property names have 3–250 characters from a-z, 0-9 and _');
    if (RESERVED_PROPERTIES.includes(key)) issue(ctx, [key], 'is reserved by STIX 2.1; leave it out');
    // STIX forbids null and empty lists; the _bin and _hex suffixes promise base64 and hex (STIX 2.1 §2.1, §2.6, §3.1).
    const value = o[key];
    if (value === null) issue(ctx, [key], 'null is not allowed; leave the property out');
    else if (Array.isArray(value) && value.length === 0) issue(ctx, [key], 'an empty list is not allowed; leave the property out');
    else if (key.endsWith('_bin') && (typeof value !== 'string' || value === '' || !BASE64.test(value))) issue(ctx, [key], 'a _bin property holds base64 text');
    else if (key.endsWith('_hex') && (typeof value !== 'string' || !/^([a-fA-F0-9]{2})+$/.test(value))) issue(ctx, [key], 'a _hex property holds pairs of hex digits');
  }
}

function checkOrder(o: Record<string, unknown>, ctx: Ctx, earlier: string, later: string, strict: boolean): void {
  const a = o[earlier];
  const b = o[later];
  if (typeof a !== 'string' || typeof b !== 'string' || !isValidTimestampText(a) || !isValidTimestampText(b)) return;
  const c = compareTimestampText(a, b);
  if (strict ? c >= 0 : c > 0) issue(ctx, [later], `must be ${strict ? 'later than' : 'the same as or later than'} ${earlier}`);
}

function sdo<T extends string, S extends z.ZodRawShape>(type: T, shape: S, check?: (o: Record<string, unknown>, ctx: Ctx) => void) {
  return z.looseObject({ ...sdoCommonShape, type: z.literal(type), ...shape }).superRefine((o, ctx) => {
    const rec = o as Record<string, unknown>;
    checkCommon(rec, ctx);
    checkOrder(rec, ctx, 'created', 'modified', false);
    check?.(rec, ctx);
  });
}

// ---------------------------------------------------------------------------------------------
// Domain and relationship objects

/** An indicator: a pattern (STIX patterns are parsed) valid from `valid_from` until before `valid_until`. @see STIX 2.1 §4.7 */
export const indicatorSchema = sdo(
  'indicator',
  {
    name: z.string().optional(),
    description: z.string().optional(),
    indicator_types: nonEmptyStrings.optional(),
    pattern: z.string().min(1, 'give the detection pattern'),
    pattern_type: z.string().min(1, 'name the pattern language, e.g. stix'),
    pattern_version: z.string().optional(),
    valid_from: timestampSchema,
    valid_until: timestampSchema.optional(),
    kill_chain_phases: z.array(killChainPhaseSchema).min(1).optional(),
  },
  (o, ctx) => {
    checkOrder(o, ctx, 'valid_from', 'valid_until', true);
    if (o['pattern_type'] === 'stix' && typeof o['pattern'] === 'string') {
      const parsed = parsePattern(o['pattern']);
      if (!parsed.ok) issue(ctx, ['pattern'], `${parsed.error.message} (at column ${parsed.error.column})`);
    }
  },
);

/** Infrastructure used in an attack, e.g. a C2 server set. @see STIX 2.1 §4.8 */
export const infrastructureSchema = sdo(
  'infrastructure',
  {
    name: z.string().min(1),
    description: z.string().optional(),
    infrastructure_types: nonEmptyStrings.optional(),
    aliases: nonEmptyStrings.optional(),
    kill_chain_phases: z.array(killChainPhaseSchema).min(1).optional(),
    first_seen: timestampSchema.optional(),
    last_seen: timestampSchema.optional(),
  },
  (o, ctx) => checkOrder(o, ctx, 'first_seen', 'last_seen', false),
);

/** Malware, a family or an instance; a family must be named. @see STIX 2.1 §4.11 */
export const malwareSchema = sdo(
  'malware',
  {
    name: z.string().optional(),
    description: z.string().optional(),
    malware_types: nonEmptyStrings.optional(),
    is_family: z.boolean(),
    aliases: nonEmptyStrings.optional(),
    kill_chain_phases: z.array(killChainPhaseSchema).min(1).optional(),
    first_seen: timestampSchema.optional(),
    last_seen: timestampSchema.optional(),
    operating_system_refs: z.array(refSchema('software')).min(1).optional(),
    architecture_execution_envs: nonEmptyStrings.optional(),
    implementation_languages: nonEmptyStrings.optional(),
    capabilities: nonEmptyStrings.optional(),
    sample_refs: z.array(refSchema('file', 'artifact')).min(1).optional(),
  },
  (o, ctx) => {
    checkOrder(o, ctx, 'first_seen', 'last_seen', false);
    if (o['is_family'] === true && o['name'] === undefined) issue(ctx, ['name'], 'a malware family must be named');
  },
);

/** An attack pattern (TTP), e.g. a CAPEC entry. @see STIX 2.1 §4.1 */
export const attackPatternSchema = sdo('attack-pattern', {
  name: z.string().min(1),
  description: z.string().optional(),
  aliases: nonEmptyStrings.optional(),
  kill_chain_phases: z.array(killChainPhaseSchema).min(1).optional(),
});

/** An identity: an individual, organization or group. @see STIX 2.1 §4.5 */
export const identitySchema = sdo('identity', {
  name: z.string().min(1),
  description: z.string().optional(),
  roles: nonEmptyStrings.optional(),
  identity_class: z.string().optional(),
  sectors: nonEmptyStrings.optional(),
  contact_information: z.string().optional(),
});

/** A report: published intelligence about the objects it references. @see STIX 2.1 §4.14 */
export const reportSchema = sdo('report', {
  name: z.string().min(1),
  description: z.string().optional(),
  report_types: nonEmptyStrings.optional(),
  published: timestampSchema,
  object_refs: z.array(identifierSchema).min(1, 'a report references at least one object'),
});

/** A course of action: a recommendation to prevent or respond to an attack. @see STIX 2.1 §4.3 */
export const courseOfActionSchema = sdo('course-of-action', {
  name: z.string().min(1),
  description: z.string().optional(),
});

const NOT_RELATABLE = ['relationship', 'sighting', 'bundle', 'marking-definition', 'language-content', 'extension-definition'];

const relatableRef = identifierSchema.refine((id) => !NOT_RELATABLE.some((t) => id.startsWith(`${t}--`)), 'must reference a domain or cyber-observable object');

/** A relationship between two objects. @see STIX 2.1 §5.1 */
export const relationshipSchema = sdo(
  'relationship',
  {
    relationship_type: z.string().regex(/^[a-z0-9-]+$/, 'relationship types use a-z, 0-9 and hyphens'),
    description: z.string().optional(),
    source_ref: relatableRef,
    target_ref: relatableRef,
    start_time: timestampSchema.optional(),
    stop_time: timestampSchema.optional(),
  },
  (o, ctx) => checkOrder(o, ctx, 'start_time', 'stop_time', true),
);

/** A sighting: something (an indicator, malware...) seen by someone, some number of times. @see STIX 2.1 §5.2 */
export const sightingSchema = sdo(
  'sighting',
  {
    description: z.string().optional(),
    first_seen: timestampSchema.optional(),
    last_seen: timestampSchema.optional(),
    count: z.int().min(0).max(999_999_999).optional(),
    sighting_of_ref: identifierSchema.refine((id) => !NOT_RELATABLE.some((t) => id.startsWith(`${t}--`)) && !isKnownScoType(id.split('--')[0] ?? ''), 'must reference a domain object'),
    observed_data_refs: z.array(refSchema('observed-data')).min(1).optional(),
    where_sighted_refs: z.array(refSchema('identity', 'location')).min(1).optional(),
    summary: z.boolean().optional(),
  },
  (o, ctx) => checkOrder(o, ctx, 'first_seen', 'last_seen', false),
);

// ---------------------------------------------------------------------------------------------
// Marking definitions and TLP

/** The extension definition the FIRST/OASIS TLP 2.0 markings declare themselves through. @see TLP 2.0 (FIRST); STIX 2.1 §7.3 */
export const TLP_EXTENSION_DEFINITION_ID = 'extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d';

/** TLP 2.0 levels, least restrictive first. @see TLP 2.0 (FIRST) */
export const TLP_LEVELS = ['clear', 'green', 'amber', 'amber+strict', 'red'] as const;

/** One TLP 2.0 level. @see TLP 2.0 (FIRST) */
export type TlpLevel = (typeof TLP_LEVELS)[number];

const TLP_V1_IDS = {
  white: 'marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9',
  green: 'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da',
  amber: 'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82',
  red: 'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed',
} as const;

const TLP_V2_IDS: Readonly<Record<TlpLevel, string>> = {
  clear: 'marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487',
  green: 'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb',
  amber: 'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421',
  'amber+strict': 'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003',
  red: 'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1',
};

/** A marking definition: a statement, a TLP 1.0 marking, or one defined through an extension (TLP 2.0). @see STIX 2.1 §7.2.1 */
export const markingDefinitionSchema = z
  .looseObject({
    type: z.literal('marking-definition'),
    spec_version: z.literal('2.1', 'must be "2.1"'),
    id: refSchema('marking-definition'),
    created_by_ref: refSchema('identity').optional(),
    created: timestampMillisSchema,
    external_references: z.array(externalReferenceSchema).min(1).optional(),
    object_marking_refs: z.array(refSchema('marking-definition')).min(1).optional(),
    granular_markings: z.array(granularMarkingSchema).min(1).optional(),
    name: z.string().optional(),
    definition_type: z.string().optional(),
    definition: z.record(z.string(), z.unknown()).optional(),
    extensions: extensionsSchema.optional(),
  })
  .superRefine((o, ctx) => {
    checkCommon(o, ctx);
    if (o.extensions === undefined && (o.definition_type === undefined || o.definition === undefined)) {
      issue(ctx, ['definition'], 'give definition_type and definition, or define the marking through an extension');
    }
    if (o.definition_type === 'statement' && typeof o.definition?.['statement'] !== 'string') {
      issue(ctx, ['definition', 'statement'], 'a statement marking needs definition.statement text');
    }
    if (o.definition_type === 'tlp') {
      const level = o.definition?.['tlp'];
      const expected = typeof level === 'string' ? (TLP_V1_IDS as Record<string, string>)[level] : undefined;
      if (expected === undefined) issue(ctx, ['definition', 'tlp'], 'must be white, green, amber or red');
      else if (o.id !== expected) issue(ctx, ['id'], `TLP 1.0 markings must use the predefined object ${expected}`);
      else if (!isDeepStrictEqual({ ...o }, tlp1Marking(level as keyof typeof TLP_V1_IDS))) issue(ctx, [], 'a TLP 1.0 marking must be the predefined object exactly, with no other properties');
    }
    const tlp2 = o.extensions?.[TLP_EXTENSION_DEFINITION_ID];
    if (tlp2 !== undefined) {
      const level = tlp2['tlp_2_0'];
      if (!TLP_LEVELS.includes(level as TlpLevel)) issue(ctx, ['extensions', TLP_EXTENSION_DEFINITION_ID, 'tlp_2_0'], `must be one of ${TLP_LEVELS.join(', ')}`);
      const official = Object.entries(TLP_V2_IDS).find(([, id]) => id === o.id)?.[0];
      if (official !== undefined && official !== level) issue(ctx, ['extensions', TLP_EXTENSION_DEFINITION_ID, 'tlp_2_0'], `the official ${o.id} marks ${official}`);
    }
  });

/** A marking-definition object. @see STIX 2.1 §7.2.1 */
export type MarkingDefinition = z.output<typeof markingDefinitionSchema>;

function tlp2Marking(level: TlpLevel): MarkingDefinition {
  return {
    type: 'marking-definition',
    spec_version: '2.1',
    id: TLP_V2_IDS[level],
    created: '2022-10-01T00:00:00.000Z',
    name: `TLP:${level.toUpperCase()}`,
    extensions: { [TLP_EXTENSION_DEFINITION_ID]: { extension_type: 'property-extension', tlp_2_0: level } },
  };
}

/** The five official TLP 2.0 marking-definition objects (FIRST/OASIS), to reference and ship in bundles. @see TLP 2.0 (FIRST); STIX 2.1 §7.2.1 */
export const TLP = {
  CLEAR: tlp2Marking('clear'),
  GREEN: tlp2Marking('green'),
  AMBER: tlp2Marking('amber'),
  AMBER_STRICT: tlp2Marking('amber+strict'),
  RED: tlp2Marking('red'),
} as const satisfies Record<string, MarkingDefinition>;

function tlp1Marking(level: keyof typeof TLP_V1_IDS): MarkingDefinition {
  return {
    type: 'marking-definition',
    spec_version: '2.1',
    id: TLP_V1_IDS[level],
    created: '2017-01-20T00:00:00.000Z',
    definition_type: 'tlp',
    name: `TLP:${level.toUpperCase()}`,
    definition: { tlp: level },
  };
}

/** The four TLP 1.0 marking definitions STIX 2.1 predefines, for reading older intelligence. @see STIX 2.1 §7.2.1.4 */
export const TLP_V1 = {
  WHITE: tlp1Marking('white'),
  GREEN: tlp1Marking('green'),
  AMBER: tlp1Marking('amber'),
  RED: tlp1Marking('red'),
} as const satisfies Record<string, MarkingDefinition>;

const TLP_BY_ID: ReadonlyMap<string, TlpLevel> = new Map<string, TlpLevel>([
  ...(Object.entries(TLP_V2_IDS) as [TlpLevel, string][]).map(([level, id]): [string, TlpLevel] => [id, level]),
  [TLP_V1_IDS.white, 'clear'],
  [TLP_V1_IDS.green, 'green'],
  [TLP_V1_IDS.amber, 'amber'],
  [TLP_V1_IDS.red, 'red'],
]);

/** Orders TLP levels: negative when `a` is less restrictive than `b`. @see TLP 2.0 (FIRST) */
export function compareTlp(a: TlpLevel, b: TlpLevel): number {
  return TLP_LEVELS.indexOf(a) - TLP_LEVELS.indexOf(b);
}

/** The TLP level of one marking (by official TLP 2.0 or 1.0 id, or by its content); TLP 1.0 white reads as clear. @see TLP 2.0 (FIRST); STIX 2.1 §7.2.1.4 */
export function tlpOfMarking(marking: string | MarkingDefinition): TlpLevel | undefined {
  if (typeof marking === 'string') return TLP_BY_ID.get(marking);
  const known = TLP_BY_ID.get(marking.id);
  if (known !== undefined) return known;
  const level = marking.extensions?.[TLP_EXTENSION_DEFINITION_ID]?.['tlp_2_0'];
  return TLP_LEVELS.includes(level as TlpLevel) ? (level as TlpLevel) : undefined;
}

/** What `tlpOf` reads from an object: its object and granular marking references. @see STIX 2.1 §7.2 */
export interface Marked {
  object_marking_refs?: readonly string[] | undefined;
  granular_markings?: readonly { marking_ref?: string | undefined }[] | undefined;
}

/**
 * The most restrictive TLP level among an object's markings (object-level and granular), resolving
 * non-official ids through `definitions`; undefined when no marking is a TLP marking.
 * @see TLP 2.0 (FIRST); STIX 2.1 §7.2
 */
export function tlpOf(object: Marked, definitions: Iterable<MarkingDefinition> = []): TlpLevel | undefined {
  const byId = new Map<string, MarkingDefinition>();
  for (const d of definitions) byId.set(d.id, d);
  const refs = [...(object.object_marking_refs ?? []), ...(object.granular_markings ?? []).flatMap((g) => (g.marking_ref === undefined ? [] : [g.marking_ref]))];
  let worst: TlpLevel | undefined;
  for (const ref of refs) {
    const def = byId.get(ref);
    const level = tlpOfMarking(def ?? ref);
    if (level !== undefined && (worst === undefined || compareTlp(level, worst) > 0)) worst = level;
  }
  return worst;
}

// ---------------------------------------------------------------------------------------------
// Cyber-observables, other objects and bundles

const SCO_VALUE_FORMATS: Readonly<Record<string, [(v: string) => boolean, string]>> = {
  'ipv4-addr': [(v) => parseAddressBlock(v)?.family === 4, 'an IPv4 address, optionally with a /prefix'],
  'ipv6-addr': [(v) => parseAddressBlock(v)?.family === 6, 'an IPv6 address, optionally with a /prefix'],
  'domain-name': [isDomainName, 'a domain name'],
  url: [isUrl, 'an absolute URL'],
  'email-addr': [isEmailAddress, 'an e-mail address without display name'],
  'mac-addr': [isMacAddress, 'a MAC address such as 00:00:5e:00:53:01'],
};

/** A cyber-observable object with the common SCO properties; address-like types need a well-formed `value`. @see STIX 2.1 §6, §3.1 */
export const cyberObservableSchema = z.looseObject(scoCommonShape).superRefine((o, ctx) => {
  checkCommon(o, ctx);
  const format = SCO_VALUE_FORMATS[o.type];
  const value = o['value'];
  if (format !== undefined && (typeof value !== 'string' || !format[0](value))) issue(ctx, ['value'], `a ${o.type} needs value: ${format[1]}`);
});

const NAMED_SDO_TYPES = ['campaign', 'intrusion-set', 'threat-actor', 'tool', 'vulnerability', 'grouping'];

/** Any other domain object (defined or custom): the common properties are checked, the rest passes through. @see STIX 2.1 §3.2, §11 */
export const genericDomainObjectSchema = z.looseObject(sdoCommonShape).superRefine((o, ctx) => {
  checkCommon(o, ctx);
  checkOrder(o, ctx, 'created', 'modified', false);
  if (NAMED_SDO_TYPES.includes(o.type) && typeof o['name'] !== 'string') issue(ctx, ['name'], `a ${o.type} needs a name`);
});

/** An indicator object. @see STIX 2.1 §4.7 */
export type Indicator = z.output<typeof indicatorSchema>;
/** An infrastructure object. @see STIX 2.1 §4.8 */
export type Infrastructure = z.output<typeof infrastructureSchema>;
/** A malware object. @see STIX 2.1 §4.11 */
export type Malware = z.output<typeof malwareSchema>;
/** An attack-pattern object. @see STIX 2.1 §4.1 */
export type AttackPattern = z.output<typeof attackPatternSchema>;
/** An identity object. @see STIX 2.1 §4.5 */
export type Identity = z.output<typeof identitySchema>;
/** A report object. @see STIX 2.1 §4.14 */
export type Report = z.output<typeof reportSchema>;
/** A course-of-action object. @see STIX 2.1 §4.3 */
export type CourseOfAction = z.output<typeof courseOfActionSchema>;
/** A relationship object. @see STIX 2.1 §5.1 */
export type Relationship = z.output<typeof relationshipSchema>;
/** A sighting object. @see STIX 2.1 §5.2 */
export type Sighting = z.output<typeof sightingSchema>;
/** A cyber-observable object. @see STIX 2.1 §6 */
export type CyberObservable = z.output<typeof cyberObservableSchema>;
/** Any other domain object, with its common properties checked. @see STIX 2.1 §3.2 */
export type GenericDomainObject = z.output<typeof genericDomainObjectSchema>;

/** Any STIX object a bundle may hold. @see STIX 2.1 §8 */
export type StixObject =
  | Indicator
  | Infrastructure
  | Malware
  | AttackPattern
  | Identity
  | Report
  | CourseOfAction
  | Relationship
  | Sighting
  | MarkingDefinition
  | CyberObservable
  | GenericDomainObject;

const SCHEMA_BY_TYPE: Readonly<Record<string, z.ZodType<StixObject>>> = {
  indicator: indicatorSchema,
  infrastructure: infrastructureSchema,
  malware: malwareSchema,
  'attack-pattern': attackPatternSchema,
  identity: identitySchema,
  report: reportSchema,
  'course-of-action': courseOfActionSchema,
  relationship: relationshipSchema,
  sighting: sightingSchema,
  'marking-definition': markingDefinitionSchema,
};

function schemaFor(input: Record<string, unknown>): z.ZodType<StixObject> {
  const type = String(input['type']);
  const known = SCHEMA_BY_TYPE[type];
  if (known !== undefined) return known;
  if (isKnownScoType(type)) return cyberObservableSchema;
  if (SDO_SRO_TYPES.includes(type)) return genericDomainObjectSchema;
  // A custom object is a domain object when it carries the domain timestamps, an observable otherwise.
  return 'created' in input || 'modified' in input ? genericDomainObjectSchema : cyberObservableSchema;
}

/** Any STIX object, validated by the schema its `type` selects; unknown custom types get the common checks. @see STIX 2.1 §3, §8 */
export const stixObjectSchema: z.ZodType<StixObject, unknown> = z.unknown().transform((input, ctx): StixObject => {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    ctx.addIssue({ code: 'custom', message: 'a STIX object is a JSON object' });
    return z.NEVER;
  }
  const rec = input as Record<string, unknown>;
  if (typeof rec['type'] !== 'string') {
    ctx.addIssue({ code: 'custom', path: ['type'], message: 'give the object type' });
    return z.NEVER;
  }
  if (rec['type'] === 'bundle') {
    ctx.addIssue({ code: 'custom', path: ['type'], message: 'bundles cannot be nested in bundles' });
    return z.NEVER;
  }
  const parsed = schemaFor(rec).safeParse(input);
  if (parsed.success) return parsed.data;
  for (const i of parsed.error.issues) ctx.addIssue({ code: 'custom', path: i.path, message: i.message });
  return z.NEVER;
});

/** A bundle: a container of STIX objects for transport. @see STIX 2.1 §8 */
export const bundleSchema = z
  .looseObject({
    type: z.literal('bundle'),
    id: refSchema('bundle'),
    objects: z.array(stixObjectSchema).optional(),
  })
  .superRefine((b, ctx) => checkCommon(b, ctx));

/** A bundle object. @see STIX 2.1 §8 */
export type Bundle = z.output<typeof bundleSchema>;

// ---------------------------------------------------------------------------------------------
// Import and export

function validationError(what: string, error: z.ZodError): AppError {
  return new AppError('VALIDATION_FAILED', `The ${what} is not valid STIX 2.1; fix the listed fields.`, { details: fieldIssuesFromZod(error.issues) });
}

/** Validates one STIX object; the result keeps every property of the input. @see STIX 2.1 §3 */
export function parseStixObject(input: unknown): Result<StixObject, AppError> {
  const r = stixObjectSchema.safeParse(input);
  return r.success ? ok(r.data) : err(validationError('object', r.error));
}

/** Validates a bundle and every object in it. @see STIX 2.1 §8 */
export function parseBundle(input: unknown): Result<Bundle, AppError> {
  const r = bundleSchema.safeParse(input);
  return r.success ? ok(r.data) : err(validationError('bundle', r.error));
}

/** Imports STIX JSON text: a bundle or a single object. @see STIX 2.1 §8; RFC 8259 */
export function importStix(text: string): Result<Bundle | StixObject, AppError> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return err(new AppError('BAD_REQUEST', 'The STIX document is not valid JSON; send a JSON bundle or object.'));
  }
  const isBundle = typeof json === 'object' && json !== null && (json as { type?: unknown }).type === 'bundle';
  return isBundle ? parseBundle(json) : parseStixObject(json);
}

/** Exports a bundle or object as STIX JSON text. @see STIX 2.1 §8; RFC 8259 */
export function exportStix(value: Bundle | StixObject): string {
  return JSON.stringify(value);
}

/**
 * Creates and validates a new object of `type`: a fresh id (UUIDv5 for cyber-observables), spec_version
 * 2.1 and, for domain objects, `created` = `modified` = `now` to the millisecond.
 * @see STIX 2.1 §3.2, §2.9
 */
export function createStixObject(type: string, properties: Readonly<Record<string, unknown>>, now: Date): Result<StixObject, AppError> {
  const stamp = now.toISOString();
  let draft: Record<string, unknown>;
  if (isKnownScoType(type)) draft = { type, spec_version: '2.1', id: scoId({ ...properties, type }), ...properties };
  else if (type === 'marking-definition') draft = { type, spec_version: '2.1', id: stixId(type), created: stamp, ...properties };
  else draft = { type, spec_version: '2.1', id: stixId(type), created: stamp, modified: stamp, ...properties };
  return parseStixObject(draft);
}

/** Wraps objects in a new bundle with a fresh id, validating them. @see STIX 2.1 §8 */
export function createBundle(objects: readonly StixObject[]): Result<Bundle, AppError> {
  return parseBundle({ type: 'bundle', id: stixId('bundle'), objects });
}
