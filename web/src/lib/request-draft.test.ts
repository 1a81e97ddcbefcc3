// Drafting a request in the browser: the body sent matches oversight's DraftInputSchema, and every mistake names its field.
import { describe, expect, it } from 'vitest';
import { addMonths, checkDraft, emptyDraft, fieldOfApiPath, formOfDraft, type DraftForm } from './request-draft.js';

const NOW = Date.parse('2026-05-01T00:00:00Z');
const acquisition = (over: Partial<DraftForm> = {}, selectors: Partial<DraftForm['selectors']> = {}): DraftForm => {
  const f = emptyDraft(NOW);
  return {
    ...f, title: ' Scanner C2 ', purpose: 'Find the servers it reports to.', evidence: 'finding:F1\n\ncase: C2 ',
    periodStart: '2026-05-01T10:00', periodEnd: '2026-06-01T10:00', ...over,
    selectors: { ...f.selectors, foreignPrefixes: '198.51.100.0/24\n2001:db8::/32', ports: '443\n 8443 ', ...selectors },
  };
};
const problems = (f: DraftForm) => {
  const r = checkDraft(f, NOW);
  return 'problems' in r ? r.problems.map((p) => `${p.field}:${p.code}${p.value !== undefined ? `:${p.value}` : ''}`) : [];
};

describe('checkDraft', () => {
  it('builds the acquisition body: JST times in UTC, numbers as numbers, blank selectors left out', () => {
    expect(checkDraft(acquisition(), NOW)).toEqual({
      body: {
        kind: 'acquisition', title: 'Scanner C2', evidence: [{ type: 'finding', id: 'F1' }, { type: 'case', id: 'C2' }],
        acquisition: {
          basisKind: 'cross_border_approval', purpose: 'Find the servers it reports to.', retentionDays: 90,
          selectors: { foreignPrefixes: ['198.51.100.0/24', '2001:db8::/32'], ports: [443, 8443] },
          periodStart: '2026-05-01T01:00:00.000Z', periodEnd: '2026-06-01T01:00:00.000Z',
        },
      },
    });
  });
  it('builds the re-identification body from the pseudonyms, basis and purpose alone', () => {
    expect(checkDraft({ ...acquisition(), kind: 'reidentification', pseudonyms: 'ps-1\nps-2\n', basisId: 'B1', evidence: '' }, NOW)).toEqual({
      body: { kind: 'reidentification', title: 'Scanner C2', evidence: [], reidentification: { pseudonyms: ['ps-1', 'ps-2'], basisId: 'B1', purpose: 'Find the servers it reports to.' } },
    });
  });
  it('names every field that is missing', () => {
    expect(problems({ ...emptyDraft(NOW) })).toEqual(['title:required', 'purpose:required', 'foreignPrefixes:required']);
    expect(problems({ ...emptyDraft(NOW), kind: 'reidentification', title: 't', purpose: 'p' })).toEqual(['pseudonyms:required', 'basisId:required']);
  });
  it('refuses prefixes the server would refuse, naming the first bad one', () => {
    for (const bad of ['198.51.100.0', '198.51.100.0/33', '256.1.1.0/24', '01.2.3.0/24', '2001:db8::/129', '2001:db8:::/32', 'fe80::1%eth0/64', 'example.com/24', '198.51.100.0/024']) {
      expect(problems(acquisition({}, { domesticPrefixes: `192.0.2.0/24\n${bad}` }))).toEqual([`domesticPrefixes:prefix:${bad}`]);
    }
    expect(problems(acquisition({}, { domesticPrefixes: '192.0.2.0/24\n::/0\n::ffff:192.0.2.1/128\n0.0.0.0/0' }))).toEqual([]);
  });
  it('refuses ports and protocols out of range or not whole numbers', () => {
    expect(problems(acquisition({}, { ports: '443\n65536' }))).toEqual(['ports:number:65536']);
    expect(problems(acquisition({}, { protocols: '6\n256' }))).toEqual(['protocols:number:256']);
    expect(problems(acquisition({}, { ports: '-1', protocols: 'tcp' }))).toEqual(['ports:number:-1', 'protocols:number:tcp']);
    expect(problems(acquisition({}, { ports: '0\n65535', protocols: '0\n255' }))).toEqual([]);
  });
  it('checks the period: readable, in order, within the legal maximum of its kind, not already over', () => {
    expect(problems(acquisition({ periodStart: '2026-05-01' }))).toEqual(['periodStart:time']);
    expect(problems(acquisition({ periodEnd: '2026-05-01T10:00' }))).toEqual(['periodEnd:order']);
    // Cross-border: 3 months; transit: 6 (31 May + 3 months ends on 31 Aug; 30 Nov + 3 on 28 Feb).
    expect(problems(acquisition({ periodEnd: '2026-08-01T10:00' }))).toEqual([]);
    expect(problems(acquisition({ periodEnd: '2026-08-01T10:01' }))).toEqual(['periodEnd:period']);
    expect(problems(acquisition({ periodEnd: '2026-08-01T10:01', basisKind: 'transit_approval' }))).toEqual([]);
    expect(problems(acquisition({ periodEnd: '2026-11-01T10:01', basisKind: 'transit_approval' }))).toEqual(['periodEnd:period']);
    expect(addMonths('2026-11-30T00:00:00Z', 3)).toBe(Date.parse('2027-02-28T00:00:00Z'));
    expect(addMonths('2028-01-31T15:00:00Z', 1)).toBe(Date.parse('2028-02-29T15:00:00Z'));
    expect(addMonths('2026-08-31T00:00:00Z', 6)).toBe(Date.parse('2027-02-28T00:00:00Z'));
    expect(addMonths('2026-10-15T00:00:00Z', 3)).toBe(Date.parse('2027-01-15T00:00:00Z'));
    expect(problems(acquisition({ periodStart: '2026-04-01T09:00', periodEnd: '2026-04-30T09:00' }))).toEqual(['periodEnd:ended']);
  });
  it('checks retention, evidence references and lengths', () => {
    for (const bad of ['0', '3651', '1.5', '']) expect(problems(acquisition({ retentionDays: bad }))).toEqual([`retentionDays:retention:${bad}`]);
    expect(problems(acquisition({ evidence: 'finding:F1\nmemo 3' }))).toEqual(['evidence:evidence:memo 3']);
    expect(problems(acquisition({ evidence: 'rumour:R1' }))).toEqual(['evidence:evidence:rumour:R1']);
    expect(problems(acquisition({ title: 'x'.repeat(301) }))).toEqual(['title:tooLong:300']);
    expect(problems(acquisition({}, { exporters: 'x'.repeat(201) }))).toEqual(['exporters:tooLong:200']);
  });
});

describe('fieldOfApiPath', () => {
  it('maps the API\'s detail paths to the form\'s fields', () => {
    expect(fieldOfApiPath('acquisition.selectors.ports.1')).toBe('ports');
    expect(fieldOfApiPath('acquisition.selectors')).toBe('foreignPrefixes');
    expect(fieldOfApiPath('acquisition.periodEnd')).toBe('periodEnd');
    expect(fieldOfApiPath('reidentification.pseudonyms.0')).toBe('pseudonyms');
    expect(fieldOfApiPath('reidentification.purpose')).toBe('purpose');
    expect(fieldOfApiPath('evidence.2.id')).toBe('evidence');
    expect(fieldOfApiPath('title')).toBe('title');
    expect(fieldOfApiPath('(root)')).toBeUndefined();
    expect(fieldOfApiPath('acquisition.unknown')).toBeUndefined();
  });
});

describe('formOfDraft', () => {
  it('fills the form with a stored draft so that checking it again gives the same body (acquisition and re-identification)', () => {
    const made = checkDraft(acquisition({ basisKind: 'transit_approval', retentionDays: '30' }, { exporters: 'edge-1', protocols: '6\n17' }), NOW);
    if (!('body' in made)) throw new Error('the form should check');
    const body = made.body as { kind: string; title: string; evidence: { type: string; id: string }[]; acquisition: Record<string, unknown> };
    const again = checkDraft(formOfDraft({ kind: body.kind, title: body.title, evidence: body.evidence, scope: body.acquisition }, NOW), NOW);
    expect(again).toEqual(made);
    const re = { kind: 'reidentification', title: 'Who is p-1', evidence: [{ type: 'finding', id: 'F9' }], scope: { pseudonyms: ['p-1', 'p-2'], basisId: 'basis-7', purpose: 'Notify the victim.' } };
    expect(checkDraft(formOfDraft(re, NOW), NOW)).toEqual({ body: { kind: 'reidentification', title: re.title, evidence: re.evidence, reidentification: re.scope } });
  });
});
