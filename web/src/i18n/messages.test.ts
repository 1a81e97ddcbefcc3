// Every message code the server makes has its words in both catalogues, so no screen falls back to the English text:
// the codes are read from the server's sources (reasons of refusals, conflict codes, notes and events).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ja } from './ja.js';
import { en } from './en.js';

const SRC = resolve(import.meta.dirname, '../../../src');
const files = (dir: string): string[] => readdirSync(dir).flatMap((f) => {
  const p = join(dir, f);
  return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
});

/** The codes in the server's sources: `reason: { code: 'x.y'`, `conflict(…, 'x.y'`, `{ code: 'x.y', params`, measure refusals. */
function serverCodes(): string[] {
  const codes = new Set<string>();
  for (const f of files(SRC)) {
    const s = readFileSync(f, 'utf8');
    for (const m of s.matchAll(/\{ code: '([a-z]+\.[A-Za-z]+)', params/g)) codes.add(m[1]!);
    for (const m of s.matchAll(/code: (?:party \? )?'([a-z]+\.[A-Za-z]+)'(?: : '([a-z]+\.[A-Za-z]+)')?/g)) { codes.add(m[1]!); if (m[2] !== undefined) codes.add(m[2]); }
    for (const m of s.matchAll(/throw conflict\((?:'[^']*'|`[^`]*`), '([a-z]+\.[A-Za-z]+)'/g)) codes.add(m[1]!);
    for (const m of s.matchAll(/'(measureEvent\.[A-Za-z]+)'/g)) codes.add(m[1]!);
    if (f.endsWith('transitions.ts')) for (const m of s.matchAll(/code: '([A-Z_]+)'/g)) codes.add(`measureRefusal.${m[1]!}`);
  }
  return [...codes].sort();
}

describe('server messages', () => {
  const codes = serverCodes();
  it('are found in the sources', () => {
    expect(codes).toEqual(expect.arrayContaining(['inbox.overdue', 'inbox.escalatedByMinistry', 'measureEvent.approved', 'measureRefusal.NO_APPROVAL', 'request.noQuorum', 'escalation.already']));
  });
  it('each have words in Japanese and English', () => {
    const missing = codes.filter((c) => !(`msg.${c}` in ja) || !(`msg.${c}` in en));
    expect(missing).toEqual([]);
  });
});
