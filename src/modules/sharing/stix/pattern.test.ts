/** @module Tests of the STIX 2.1 pattern parser, printer and indicator extraction against the OASIS examples and the grammar. */
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  extractIndicators,
  formatPattern,
  parsePattern,
  type ComparisonExpression,
  type ObjectPath,
  type ObservationExpression,
  type PatternAst,
  type PatternErrorCode,
  type PatternLiteral,
  type Qualifier,
} from './pattern.js';
import { SCO_PROPERTIES } from './vocabulary.js';

const EXAMPLES = new URL('../../../../../shared/testdata/stix/examples/', import.meta.url);

function exampleFiles(dir: URL): URL[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? exampleFiles(new URL(`${e.name}/`, dir)) : e.name.endsWith('.json') ? [new URL(e.name, dir)] : [],
  );
}

function examplePatterns(): string[] {
  const out: string[] = [];
  for (const file of exampleFiles(EXAMPLES)) {
    const json = JSON.parse(readFileSync(file, 'utf8')) as { objects?: Record<string, unknown>[] } & Record<string, unknown>;
    for (const o of json.objects ?? [json]) if (o['type'] === 'indicator' && o['pattern_type'] === 'stix') out.push(o['pattern'] as string);
  }
  return out;
}

function parsed(text: string): PatternAst {
  const r = parsePattern(text);
  if (!r.ok) throw new Error(`${text}: ${r.error.message} at ${r.error.offset}`);
  return r.value;
}

describe('parsePattern on the OASIS examples', () => {
  const patterns = examplePatterns();

  it('finds the indicator patterns in the example bundles', () => {
    expect(patterns.length).toBeGreaterThanOrEqual(40);
  });

  it.each(patterns)('parses and re-prints %s', (text) => {
    const ast = parsed(text);
    expect(parsePattern(formatPattern(ast))).toEqual({ ok: true, value: ast });
  });

  it('reads escapes, list steps and quoted keys as the spec defines them', () => {
    const ast = parsed("[email-message:body_multipart[*].body_raw_ref.name MATCHES '^Final Report.+\\\\.exe$']");
    expect(ast).toEqual({
      kind: 'observation',
      expression: {
        kind: 'comparison',
        operator: 'MATCHES',
        negated: false,
        path: {
          objectType: 'email-message',
          steps: [
            { kind: 'key', key: 'body_multipart' },
            { kind: 'index', index: '*' },
            { kind: 'key', key: 'body_raw_ref' },
            { kind: 'key', key: 'name' },
          ],
        },
        value: { type: 'string', value: '^Final Report.+\\.exe$' },
      },
    });
  });
});

describe('parsePattern on the grammar', () => {
  it.each([
    "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
    "[ipv4-addr:value ISSUBSET '198.51.100.0/24'] FOLLOWEDBY [domain-name:value = 'example.com'] WITHIN 600 SECONDS",
    "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_port IN (80, 443, 8080)]",
    "[file:size > 1024 AND file:size <= 1048576.5] REPEATS 5 TIMES",
    "[user-account:is_privileged = true] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00.000Z'",
    "[artifact:payload_bin MATCHES '^ab'] OR [file:magic_number_hex = h'ffd8'] OR [artifact:payload_bin = b'AQIDBA==']",
    "[x-custom-thing:anything.'with space'[3] NOT LIKE 'a%']",
    "([ipv4-addr:value = '10.0.0.1'] AND [ipv4-addr:value = '10.0.0.2']) OR [ipv6-addr:value = '2001:db8::1']",
    "[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\System\\\\Foo' OR EXISTS windows-registry-key:values[0].name]",
    "[process:pid = -1 OR process:x_custom != 0.25]",
    "[file:name == 'a' AND file:name <> 'b'] /* comment */",
    "[url:value = 'http://example.com/it''s']".replace("''", "\\'"),
    // In the style of the examples of STIX 2.1 §9.9.
    "[email-message:from_ref.value MATCHES '.+\\\\@example\\\\.com$' AND email-message:body_multipart[*].body_raw_ref.name MATCHES '^Final Report.+\\\\.exe$']",
    "[network-traffic:dst_ref.type = 'domain-name' AND network-traffic:dst_ref.value = 'example.com'] REPEATS 5 TIMES WITHIN 1800 SECONDS",
    "[domain-name:value = 'www.5z8.info' AND domain-name:resolves_to_refs[*].value = '198.51.100.1/32']",
    "[network-traffic:protocols[*] = 'https']",
    "[artifact:mime_type = 'application/vnd.tcpdump.pcap' AND artifact:payload_bin MATCHES '\\\\xd4\\\\xc3\\\\xb2\\\\xa1\\\\x02\\\\x00\\\\x04\\\\x00']",
    "[file:extensions.'windows-pebinary-ext'.sections[*].entropy > 7.0]",
    "[network-traffic:dst_port = 80 AND network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = 'Mozilla/4.0']",
    "[user-account:account_type = 'unix' AND user-account:user_id = '1007'] AND [user-account:account_type = 'unix' AND user-account:user_id = '1008']",
    "[file:name = 'foo.dll'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
  ])('accepts %s and prints it back to the same AST', (text) => {
    const ast = parsed(text);
    expect(parsed(formatPattern(ast))).toEqual(ast);
  });

  it('gives AND precedence over OR over FOLLOWEDBY, left to right', () => {
    const ast = parsed("[url:value = 'a'] FOLLOWEDBY [url:value = 'b'] OR [url:value = 'c'] AND [url:value = 'd']");
    expect(ast.kind).toBe('observation-operator');
    if (ast.kind !== 'observation-operator') return;
    expect(ast.operator).toBe('FOLLOWEDBY');
    expect(ast.right).toMatchObject({ operator: 'OR', right: { operator: 'AND' } });
    expect(formatPattern(ast)).toBe("[url:value = 'a'] FOLLOWEDBY [url:value = 'b'] OR [url:value = 'c'] AND [url:value = 'd']");
  });

  it('keeps qualifiers on the expression they follow', () => {
    const ast = parsed("([file:name = 'a'] AND [file:name = 'b']) WITHIN 5.5 SECONDS REPEATS 2 TIMES");
    expect(ast).toMatchObject({ kind: 'qualified', qualifier: { kind: 'repeats', times: 2 }, expression: { kind: 'qualified', qualifier: { kind: 'within', seconds: 5.5 } } });
  });
});

describe('parsePattern rejects invalid patterns with a position', () => {
  const cases: [string, PatternErrorCode, number][] = [
    ['', 'EMPTY_PATTERN', 0],
    ['   ', 'EMPTY_PATTERN', 0],
    ["ipv4-addr:value = '1.2.3.4'", 'UNEXPECTED_TOKEN', 0],
    ["[ipv4-addr:value = '1.2.3.4'", 'UNEXPECTED_TOKEN', 28],
    ["[ipv4-addr:value = '1.2.3.4]", 'UNTERMINATED_LITERAL', 19],
    ["[ipv4-addr:value = \"1.2.3.4\"]", 'UNEXPECTED_CHARACTER', 19],
    ["[ipv4-addr:value = '1.2\\n']", 'INVALID_LITERAL', 23],
    ['[ipv4-addr:value = 1.2.3.4]', 'UNEXPECTED_TOKEN', 22],
    ["[ipv4-addr:value == ]", 'INVALID_OPERAND', 20],
    ["[ipv4-addr:value = foo]", 'INVALID_OPERAND', 19],
    ["[ipv4-addr:value and '1']", 'UNEXPECTED_TOKEN', 17],
    ["[ipv4-addr:value ~ '1']", 'UNEXPECTED_CHARACTER', 17],
    ["[ipv4-addr value = '1']", 'UNEXPECTED_TOKEN', 11],
    ["[ipv4addr:value = '1']", 'UNKNOWN_OBJECT_TYPE', 1],
    ["[IPv4-Addr:value = '1']", 'UNKNOWN_OBJECT_TYPE', 1],
    ["[ipv4-addr:address = '1']", 'UNKNOWN_PROPERTY', 11],
    ["[file:hashes.SHA-256 = 'ab']", 'UNEXPECTED_TOKEN', 13],
    ["[file:name[-1] = 'a']", 'UNEXPECTED_TOKEN', 11],
    ["[file:name = 'a' AND ipv4-addr:value = '1']", 'MIXED_OBJECT_TYPES', 17],
    ["[(file:name = 'a' OR url:value = 'b') AND file:size = 1]", 'MIXED_OBJECT_TYPES', 38],
    ["[file:size > true]", 'INVALID_OPERAND', 13],
    ["[file:name LIKE 5]", 'INVALID_OPERAND', 16],
    ["[file:name MATCHES h'ff']", 'INVALID_OPERAND', 19],
    ["[file:name IN 'a']", 'UNEXPECTED_TOKEN', 14],
    ["[file:name IN ('a' 'b')]", 'UNEXPECTED_TOKEN', 19],
    ['[file:size = 007]', 'INVALID_LITERAL', 13],
    ['[file:size = 99999999999999999999]', 'INVALID_LITERAL', 13],
    ["[file:magic_number_hex = h'abc']", 'INVALID_LITERAL', 25],
    ["[artifact:payload_bin = b'A===']", 'INVALID_LITERAL', 24],
    ["[file:ctime = t'2016-02-30T00:00:00Z']", 'INVALID_LITERAL', 14],
    ["[file:ctime = t'2016-01-01 00:00:00Z']", 'INVALID_LITERAL', 14],
    ["[file:ctime = t'2016-01-01T00:00:00+09:00']", 'INVALID_LITERAL', 14],
    ["[file:name = 'a'] WITHIN 0 SECONDS", 'INVALID_QUALIFIER', 25],
    ["[file:name = 'a'] WITHIN 5", 'UNEXPECTED_TOKEN', 26],
    ["[file:name = 'a'] WITHIN -5 SECONDS", 'INVALID_QUALIFIER', 25],
    ["[file:name = 'a'] REPEATS 1.5 TIMES", 'INVALID_QUALIFIER', 26],
    ["[file:name = 'a'] START t'2016-01-01T00:00:00Z'", 'UNEXPECTED_TOKEN', 47],
    ["[file:name = 'a'] START t'2016-01-02T00:00:00Z' STOP t'2016-01-01T00:00:00Z'", 'INVALID_QUALIFIER', 53],
    ["[file:name = 'a'] START '2016-01-01T00:00:00Z' STOP t'2016-01-02T00:00:00Z'", 'INVALID_QUALIFIER', 24],
    ["[file:name = 'a'] [file:name = 'b']", 'UNEXPECTED_TOKEN', 18],
    ["[file:name = 'a'] and [file:name = 'b']", 'UNEXPECTED_TOKEN', 18],
    ["[file:name = 'a'] AND", 'UNEXPECTED_TOKEN', 21],
    ["([file:name = 'a']", 'UNEXPECTED_TOKEN', 18],
    ["[file:name = 'a' OR]", 'UNEXPECTED_TOKEN', 19],
    ["[file:name NOT EXISTS]", 'UNEXPECTED_TOKEN', 15],
    ['[]', 'UNEXPECTED_TOKEN', 1],
    ["[file:name = 'a'] /* open", 'UNTERMINATED_LITERAL', 18],
  ];

  it.each(cases)('%s -> %s at %i', (text, code, offset) => {
    const r = parsePattern(text);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toMatchObject({ code, offset, line: 1, column: offset + 1 });
    expect(r.error.message.length).toBeGreaterThan(20);
  });

  it('reports line and column on multi-line patterns', () => {
    const r = parsePattern("[file:name = 'a']\nAND\n[file:nme = 'b']");
    expect(r).toMatchObject({ ok: false, error: { code: 'UNKNOWN_PROPERTY', line: 3, column: 7, offset: 28 } });
  });

  it('says what to fix', () => {
    const r = parsePattern("[file:name = 'a' AND url:value = 'b']");
    expect(!r.ok && r.error.message).toMatch(/same object type.*use OR/);
    const q = parsePattern('[file:name = report]');
    expect(!q.ok && q.error.message).toContain("quote strings: 'report'");
  });
});

describe('extractIndicators', () => {
  it('lists addresses, CIDRs, domains, URLs, hashes and ports once each', () => {
    const ast = parsed(
      "([ipv4-addr:value = '198.51.100.7' OR ipv4-addr:value ISSUBSET '203.0.113.0/24' OR ipv6-addr:value = '2001:db8::/32'] " +
        "AND [network-traffic:dst_ref.value = '192.0.2.9' AND network-traffic:dst_port IN (443, 8443)]) " +
        "FOLLOWEDBY [domain-name:value = 'C2.Example.COM.' OR url:value = 'https://example.com/x?y=1'] " +
        "OR [file:hashes.MD5 = '79054025255FB1A26E4BC422AEF54EB4' OR file:hashes.'SHA-256' = 'ab'] " +
        "OR [network-traffic:dst_ref.value = 'evil.example.net'] OR [ipv4-addr:value = '198.51.100.7']",
    );
    expect(extractIndicators(ast)).toEqual([
      { kind: 'ipv4', value: '198.51.100.7', address: '198.51.100.7', prefixLength: 32, path: 'ipv4-addr:value' },
      { kind: 'ipv4', value: '203.0.113.0/24', address: '203.0.113.0', prefixLength: 24, path: 'ipv4-addr:value' },
      { kind: 'ipv6', value: '2001:db8::/32', address: '2001:db8::', prefixLength: 32, path: 'ipv6-addr:value' },
      { kind: 'ipv4', value: '192.0.2.9', address: '192.0.2.9', prefixLength: 32, path: 'network-traffic:dst_ref.value' },
      { kind: 'port', value: 443, path: 'network-traffic:dst_port' },
      { kind: 'port', value: 8443, path: 'network-traffic:dst_port' },
      { kind: 'domain', value: 'c2.example.com', path: 'domain-name:value' },
      { kind: 'url', value: 'https://example.com/x?y=1', path: 'url:value' },
      { kind: 'hash', algorithm: 'MD5', value: '79054025255fb1a26e4bc422aef54eb4', path: 'file:hashes.MD5' },
      { kind: 'hash', algorithm: 'SHA-256', value: 'ab', path: "file:hashes.'SHA-256'" },
      { kind: 'domain', value: 'evil.example.net', path: 'network-traffic:dst_ref.value' },
    ]);
  });

  it('ignores negations, inequalities, fuzzy matches and values that are not what the path says', () => {
    const ast = parsed(
      "[ipv4-addr:value != '198.51.100.7' OR ipv4-addr:value NOT = '198.51.100.8' OR ipv4-addr:value = 'example.com' " +
        "OR ipv4-addr:value = '10.0.0.0/33' OR ipv4-addr:value LIKE '10.%'] OR [domain-name:value MATCHES '.*'] " +
        "OR [network-traffic:dst_port > 1024 OR network-traffic:dst_port = 70000] OR [url:value ISSUBSET 'http://a'] OR [file:name = 'x']",
    );
    expect(extractIndicators(ast)).toEqual([]);
  });

  it('looks through list indexes on references', () => {
    const ast = parsed("[domain-name:value = 'www.5z8.info' AND domain-name:resolves_to_refs[*].value = '198.51.100.1/32']");
    expect(extractIndicators(ast).map((i) => [i.kind, i.value])).toEqual([
      ['domain', 'www.5z8.info'],
      ['ipv4', '198.51.100.1/32'],
    ]);
  });

  it('extracts the values of the OASIS APT1 indicators', () => {
    const ast = parsed("[domain-name:value = 'tw.2012yearleft.com' OR ipv4-addr:value = '60.10.1.114' OR ipv4-addr:value = '60.1.1.114']");
    expect(extractIndicators(ast).map((i) => i.value)).toEqual(['tw.2012yearleft.com', '60.10.1.114', '60.1.1.114']);
  });
});

// Arbitrary ASTs that respect the semantic rules, to check that printing then parsing is the identity.
const timestampArb = fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString());

const literalArb: fc.Arbitrary<PatternLiteral> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }).map((value) => ({ type: 'string' as const, value })),
  fc.maxSafeInteger().map((value) => ({ type: 'int' as const, value })),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((v) => ({ type: 'float' as const, value: v === 0 ? 0 : v })),
  fc.boolean().map((value) => ({ type: 'bool' as const, value })),
  timestampArb.map((value) => ({ type: 'timestamp' as const, value })),
  fc.uint8Array({ maxLength: 6 }).map((b) => ({ type: 'hex' as const, value: Buffer.from(b).toString('hex') })),
  fc.uint8Array({ maxLength: 6 }).map((b) => ({ type: 'binary' as const, value: Buffer.from(b).toString('base64') })),
);

// Arbitraries are built once per object type: building them inside chain() makes generation slow.
const TYPES = [...Object.keys(SCO_PROPERTIES), 'x-custom', 'x-acme-sensor'];
const customPropertyArb = fc.stringMatching(/^x_[a-z_]{1,6}$/);
const stepArb = fc.oneof(
  fc.oneof(fc.stringMatching(/^[a-z_][a-z0-9_]{0,6}$/), fc.string({ maxLength: 6 })).map((key) => ({ kind: 'key' as const, key })),
  fc.oneof(fc.nat(1000), fc.constant('*' as const)).map((index) => ({ kind: 'index' as const, index })),
);

function pathArb(objectType: string): fc.Arbitrary<ObjectPath> {
  const props = SCO_PROPERTIES[objectType];
  const first = props === undefined ? fc.string({ minLength: 1, maxLength: 8 }) : fc.oneof(fc.constantFrom(...props), customPropertyArb);
  const step = stepArb;
  return fc.tuple(first, fc.array(step, { maxLength: 3 })).map(([key, rest]) => ({ objectType, steps: [{ kind: 'key' as const, key }, ...rest] }));
}

function comparisonArb(objectType: string): fc.Arbitrary<ComparisonExpression> {
  const leaf: fc.Arbitrary<ComparisonExpression> = fc.oneof(
    fc.record({
      kind: fc.constant('comparison' as const),
      path: pathArb(objectType),
      operator: fc.constantFrom('=' as const, '!=' as const),
      negated: fc.boolean(),
      value: literalArb,
    }),
    fc.record({
      kind: fc.constant('comparison' as const),
      path: pathArb(objectType),
      operator: fc.constantFrom('>' as const, '<' as const, '>=' as const, '<=' as const),
      negated: fc.boolean(),
      value: literalArb.filter((l) => l.type !== 'bool'),
    }),
    fc.record({
      kind: fc.constant('comparison' as const),
      path: pathArb(objectType),
      operator: fc.constantFrom('LIKE' as const, 'MATCHES' as const, 'ISSUBSET' as const, 'ISSUPERSET' as const),
      negated: fc.boolean(),
      value: fc.string({ maxLength: 8 }).map((value) => ({ type: 'string' as const, value })),
    }),
    fc.record({ kind: fc.constant('in' as const), path: pathArb(objectType), negated: fc.boolean(), values: fc.array(literalArb, { maxLength: 3 }) }),
    fc.record({ kind: fc.constant('exists' as const), path: pathArb(objectType) }),
  );
  const { tree } = fc.letrec<{ tree: ComparisonExpression }>((tie) => ({
    tree: fc.oneof(
      { maxDepth: 3, depthSize: 'small' },
      leaf,
      fc.record({ kind: fc.constant('comparison-operator' as const), operator: fc.constantFrom('AND' as const, 'OR' as const), left: tie('tree'), right: tie('tree') }),
    ),
  }));
  return tree;
}

const qualifierArb: fc.Arbitrary<Qualifier> = fc.oneof(
  fc.integer({ min: 1, max: 100000 }).map((seconds) => ({ kind: 'within' as const, seconds })),
  fc.double({ min: 0.001, max: 1e6, noNaN: true }).map((seconds) => ({ kind: 'within' as const, seconds })),
  fc.integer({ min: 1, max: 1000 }).map((times) => ({ kind: 'repeats' as const, times })),
  fc
    .tuple(timestampArb, timestampArb)
    .filter(([a, b]) => a !== b)
    .map(([a, b]) => (a < b ? { kind: 'start-stop' as const, start: a, stop: b } : { kind: 'start-stop' as const, start: b, stop: a })),
);

const observationArb: fc.Arbitrary<ObservationExpression> = fc.letrec<{ obs: ObservationExpression }>((tie) => ({
  obs: fc.oneof(
    { maxDepth: 3, depthSize: 'small' },
    fc.oneof(...TYPES.map(comparisonArb)).map((expression) => ({ kind: 'observation' as const, expression })),
    fc.record({ kind: fc.constant('observation-operator' as const), operator: fc.constantFrom('AND' as const, 'OR' as const, 'FOLLOWEDBY' as const), left: tie('obs'), right: tie('obs') }),
    fc.record({ kind: fc.constant('qualified' as const), expression: tie('obs'), qualifier: qualifierArb }),
  ),
})).obs;

describe('formatPattern', () => {
  it('prints any AST to text that parses back to the same AST', () => {
    fc.assert(
      fc.property(observationArb, (ast) => {
        const text = formatPattern(ast);
        const back = parsePattern(text);
        expect(back, text).toEqual({ ok: true, value: ast });
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (text) => {
        const r = parsePattern(text);
        if (!r.ok) expect(r.error.offset).toBeLessThanOrEqual(text.length);
      }),
      { numRuns: 500 },
    );
  });
});
