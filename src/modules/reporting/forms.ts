/** @module Versioned notification forms: field definitions read from JSON files at start, turned into strict validators (a new version needs no release). */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { z } from 'zod';
import { text } from '#platform/text/index.js';
import { AppError } from '#platform/errors/index.js';

const Label = z.object({ ja: z.string().min(1), en: z.string().min(1) }).strict();

/** One field of a form, as the ordinance defines it. */
export const FieldDefinitionSchema = z.object({
  key: z.string().regex(/^[a-z][A-Za-z0-9]{0,63}$/, 'camelCase, starting with a lower-case letter'),
  label: Label,
  type: z.enum(['string', 'text', 'integer', 'boolean', 'date', 'enum', 'stringList', 'ipList']),
  required: z.boolean().default(false),
  maxLength: z.number().int().min(1).max(100_000).optional(),
  maxItems: z.number().int().min(1).max(10_000).optional(),
  options: z.array(z.string().min(1)).min(1).optional(),
  min: z.number().optional(),
  max: z.number().optional(),
}).strict().refine((f) => f.type !== 'enum' || f.options !== undefined, { message: 'an enum field needs options', path: ['options'] });

/** A form definition file: `forms/<form>/v<version>.json`. */
export const FormDefinitionSchema = z.object({
  form: z.string().regex(/^[a-z][a-z0-9-]{0,63}$/),
  version: z.number().int().min(1),
  title: Label,
  effectiveFrom: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  fields: z.array(FieldDefinitionSchema).min(1).max(500),
}).strict().refine((f) => new Set(f.fields.map((x) => x.key)).size === f.fields.length, { message: 'field keys must be unique', path: ['fields'] });

/** A parsed form definition. */
export type FormDefinition = z.infer<typeof FormDefinitionSchema>;
/** One field definition. */
export type FieldDefinition = z.infer<typeof FieldDefinitionSchema>;

/** Values a filled-in form may hold. */
export type FormValues = Record<string, string | number | boolean | string[]>;

function fieldSchema(f: FieldDefinition): z.ZodType {
  const max = f.maxLength ?? (f.type === 'text' ? 10_000 : 500);
  switch (f.type) {
    case 'string': return z.string().trim().min(1, 'must not be empty').max(max).pipe(text(max, { singleLine: true }));
    case 'text': return text(max);
    case 'integer': return z.number().int().min(f.min ?? Number.MIN_SAFE_INTEGER).max(f.max ?? Number.MAX_SAFE_INTEGER);
    case 'boolean': return z.boolean();
    case 'date': return z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD').refine((s) => !Number.isNaN(Date.parse(s)), 'not a real date');
    case 'enum': return z.enum(f.options as [string, ...string[]]);
    case 'stringList': return z.array(z.string().trim().min(1).max(max).pipe(text(max, { singleLine: true }))).max(f.maxItems ?? 100);
    case 'ipList': return z.array(z.string().refine((s) => isIP(s) !== 0, 'must be an IPv4 or IPv6 address')).max(f.maxItems ?? 1000);
  }
}

/** The strict validator of a form's values: unknown fields are refused, required ones demanded. */
export function formValidator(def: FormDefinition): z.ZodType<FormValues> {
  const shape: Record<string, z.ZodType> = {};
  for (const f of def.fields) shape[f.key] = f.required ? fieldSchema(f) : fieldSchema(f).optional();
  return z.object(shape).strict() as unknown as z.ZodType<FormValues>;
}

/** The loaded forms, by name then version. */
export interface FormRegistry {
  list(): { form: string; version: number; title: { ja: string; en: string }; effectiveFrom: string }[];
  get(form: string, version: number): FormDefinition | undefined;
  latest(form: string): FormDefinition | undefined;
  validator(form: string, version: number): z.ZodType<FormValues> | undefined;
}

/** Builds a registry from definitions already parsed. */
export function formRegistry(defs: readonly FormDefinition[]): FormRegistry {
  const byKey = new Map<string, { def: FormDefinition; validator: z.ZodType<FormValues> }>();
  for (const d of defs) byKey.set(`${d.form}@${d.version}`, { def: d, validator: formValidator(d) });
  return {
    list: () => [...byKey.values()].map(({ def }) => ({ form: def.form, version: def.version, title: def.title, effectiveFrom: def.effectiveFrom })).sort((a, b) => a.form.localeCompare(b.form) || a.version - b.version),
    get: (form, version) => byKey.get(`${form}@${version}`)?.def,
    latest: (form) => [...byKey.values()].map((x) => x.def).filter((d) => d.form === form).sort((a, b) => b.version - a.version)[0],
    validator: (form, version) => byKey.get(`${form}@${version}`)?.validator,
  };
}

/** Loads every `<dir>/<form>/v<N>.json`; a file that does not parse stops the start with its path and field. */
export function loadForms(dir: string): FormRegistry {
  const defs: FormDefinition[] = [];
  let forms: string[];
  try {
    forms = readdirSync(dir).filter((f) => statSync(join(dir, f)).isDirectory());
  } catch (e) {
    throw new AppError('CONFIG_INVALID', `reporting.formsDir: cannot read ${dir}; point it at the forms directory.`, { cause: e });
  }
  for (const form of forms) {
    for (const file of readdirSync(join(dir, form)).filter((f) => /^v\d+\.json$/.test(f))) {
      const path = join(dir, form, file);
      let raw: unknown;
      try {
        raw = JSON.parse(readFileSync(path, 'utf8'));
      } catch (e) {
        throw new AppError('CONFIG_INVALID', `Form file ${path} is not valid JSON.`, { cause: e });
      }
      const r = FormDefinitionSchema.safeParse(raw);
      if (!r.success) throw new AppError('CONFIG_INVALID', `Form file ${path}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      if (r.data.form !== form || `v${r.data.version}.json` !== file) throw new AppError('CONFIG_INVALID', `Form file ${path} declares ${r.data.form} v${r.data.version}; its path must be ${r.data.form}/v${r.data.version}.json.`);
      defs.push(r.data);
    }
  }
  return formRegistry(defs);
}

/** The fields whose values differ between two filings: what a change notification reports. */
export function diffValues(before: FormValues, after: FormValues): { key: string; before: unknown; after: unknown }[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const out: { key: string; before: unknown; after: unknown }[] = [];
  for (const k of keys) {
    const a = before[k];
    const b = after[k];
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push({ key: k, before: a ?? null, after: b ?? null });
  }
  return out;
}
