/** @module Test support: validates STIX objects and bundles against the official OASIS STIX 2.1 JSON schemas (ajv, tests only). */
import { readdirSync, readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

/** Where the OASIS schemas and examples live. */
export const STIX_TESTDATA = new URL('../../../../../shared/testdata/stix/', import.meta.url);
const SCHEMA_BASE = 'http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/';

/** Every .json file under `dir`, recursively. */
export function jsonFiles(dir: URL): URL[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? jsonFiles(new URL(`${e.name}/`, dir)) : e.name.endsWith('.json') ? [new URL(e.name, dir)] : []));
}

let ajv: Ajv2020 | undefined;

function load(): Ajv2020 {
  if (ajv !== undefined) return ajv;
  // The official schemas escape '-' outside classes, which only non-unicode regular expressions accept.
  const a = new Ajv2020({ strict: false, allErrors: true, unicodeRegExp: false });
  const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (x: Ajv2020) => void;
  addFormats(a);
  a.addFormat('idn-hostname', true);
  for (const file of jsonFiles(new URL('schemas/', STIX_TESTDATA))) a.addSchema(JSON.parse(readFileSync(file, 'utf8')) as object);
  ajv = a;
  return a;
}

function validator(type: string): ValidateFunction | undefined {
  const a = load();
  const folder = ['relationship', 'sighting'].includes(type) ? 'sros'
    : ['marking-definition', 'bundle', 'extension-definition', 'language-content'].includes(type) ? 'common'
      : readdirSync(new URL('schemas/observables/', STIX_TESTDATA)).includes(`${type}.json`) ? 'observables' : 'sdos';
  return a.getSchema(`${SCHEMA_BASE}${folder}/${type}.json`);
}

/** The official-schema errors of one object or bundle (and of every object in a bundle); empty when valid. */
export function officialErrors(value: unknown): string[] {
  const o = value as { type?: string; objects?: unknown[] };
  const errors: string[] = [];
  const v = validator(String(o.type));
  if (v === undefined) return [`no official schema for ${String(o.type)}`];
  if (!v(value)) errors.push(...(v.errors ?? []).map((e) => `${String(o.type)} ${e.instancePath} ${e.message ?? ''}`));
  if (o.type === 'bundle') for (const x of o.objects ?? []) errors.push(...officialErrors(x));
  return errors;
}
