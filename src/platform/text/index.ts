/** @module What text and JSON the system accepts: no unpaired surrogates, NUL, or bidi controls in text fields; bounded nesting. */
import { z } from 'zod';
import type { FieldIssue } from '#platform/errors/index.js';

/** The deepest JSON nesting any request body may have (objects and arrays; a TAXII envelope of STIX objects needs ~10). */
export const DEFAULT_MAX_JSON_DEPTH = 64;

// With the u flag a valid pair is one code point, so only a lone half matches.
const LONE_SURROGATE = /\p{Surrogate}/u;
// C0 controls other than tab, LF and CR, and DEL: never part of a typed text (matching them is the point).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
// Embeddings, overrides and isolates reorder what a reader sees ("Trojan Source", CVE-2021-42574); LRM/RLM marks are harmless.
const BIDI_CONTROL = /[\u202a-\u202e\u2066-\u2069]/;

/** Why a string is not acceptable text, or undefined when it is. @see Unicode TR #9 §2 (explicit directional formatting) */
export function textProblem(s: string, options: { allowBlank?: boolean; singleLine?: boolean } = {}): string | undefined {
  if (LONE_SURROGATE.test(s)) return 'holds an unpaired UTF-16 surrogate (not Unicode text); send well-formed UTF-8';
  if (s.includes('\u0000')) return 'holds a NUL character; remove it';
  if (CONTROL.test(s) || (options.singleLine === true && /[\r\n\t]/.test(s))) return options.singleLine === true ? 'holds a control character or line break; write one plain line' : 'holds a control character; remove it';
  if (BIDI_CONTROL.test(s)) return 'holds a bidirectional control character (U+202A–U+202E, U+2066–U+2069) that can disguise text; remove it';
  if (options.allowBlank !== true && s.trim() === '') return 'must not be empty or only whitespace';
  return undefined;
}

/**
 * A zod string for text people type: 1..`max` characters, not blank, no NUL or other control characters, no bidi
 * controls, no unpaired surrogates. `singleLine` also refuses line breaks and tabs (names, titles); `allowBlank`
 * (with `min: 0`) admits an empty or blank optional text.
 */
export function text(max: number, options: { singleLine?: boolean; min?: number; allowBlank?: boolean } = {}) {
  return z.string().min(options.min ?? 1).max(max).superRefine((s, ctx) => {
    const problem = textProblem(s, options);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });
}

/**
 * Checks a parsed JSON value without recursion: its nesting is at most `maxDepth`, and no string or key holds
 * an unpaired surrogate (which no UTF-8 store, audit entry or signature can hold). Returns the first issue.
 * @see RFC 8259 §9 (parsers may limit nesting), RFC 3629 §3 (surrogates are not UTF-8)
 */
export function inspectJson(value: unknown, maxDepth: number = DEFAULT_MAX_JSON_DEPTH): FieldIssue | undefined {
  const stack: { v: unknown; depth: number; path: string }[] = [{ v: value, depth: 0, path: '' }];
  while (stack.length > 0) {
    const { v, depth, path } = stack.pop()!;
    if (typeof v === 'string') {
      if (LONE_SURROGATE.test(v)) return { path, message: 'holds an unpaired UTF-16 surrogate (not Unicode text); send well-formed UTF-8' };
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= maxDepth) return { path, message: `nested deeper than ${maxDepth} levels; flatten the document` };
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], depth: depth + 1, path: path === '' ? String(i) : `${path}.${i}` });
      continue;
    }
    for (const [k, x] of Object.entries(v)) {
      const p = path === '' ? k : `${path}.${k}`;
      if (LONE_SURROGATE.test(k)) return { path: p.replace(/\p{Surrogate}/gu, '\ufffd'), message: 'this key holds an unpaired UTF-16 surrogate; send well-formed UTF-8' };
      stack.push({ v: x, depth: depth + 1, path: p });
    }
  }
  return undefined;
}

/** How deeply JSON text nests (brackets outside strings), counted without parsing it; for text that arrives inside a field. */
export function jsonTextDepth(s: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) { if (++depth > deepest) deepest = depth; }
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}
