/** @module STIX 2.1 Patterning: parser to an AST, canonical printer and extraction of matchable indicators (STIX 2.1 §9). */
import { err, ok, type Result } from '#platform/errors/index.js';
import { compareTimestampText, isValidTimestampText } from './timestamps.js';
import { isDomainName, parseAddressBlock } from './values.js';
import { isKnownScoProperty, isKnownScoType, SCO_TYPES } from './vocabulary.js';

// ---------------------------------------------------------------------------------------------
// AST

/** A literal value in a comparison; `timestamp`, `hex` and `binary` keep the text between the quotes. @see STIX 2.1 §9.3 */
export type PatternLiteral =
  | { type: 'string'; value: string }
  | { type: 'int'; value: number }
  | { type: 'float'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'timestamp'; value: string }
  | { type: 'hex'; value: string }
  | { type: 'binary'; value: string };

/** One step of an object path after the object type: a property key or a list index (`*` for any). @see STIX 2.1 §9.4 */
export type PathStep = { kind: 'key'; key: string } | { kind: 'index'; index: number | '*' };

/** An object path such as `network-traffic:dst_ref.value`; `steps[0]` is always a key. @see STIX 2.1 §9.4 */
export interface ObjectPath {
  objectType: string;
  steps: PathStep[];
}

/** A comparison operator that takes one literal. @see STIX 2.1 §9.5 (Table: comparison operators) */
export type ComparisonOperator = '=' | '!=' | '>' | '<' | '>=' | '<=' | 'LIKE' | 'MATCHES' | 'ISSUBSET' | 'ISSUPERSET';

/** A comparison expression: tests of object paths joined by AND/OR. @see STIX 2.1 §9.5 */
export type ComparisonExpression =
  | { kind: 'comparison'; path: ObjectPath; operator: ComparisonOperator; negated: boolean; value: PatternLiteral }
  | { kind: 'in'; path: ObjectPath; negated: boolean; values: PatternLiteral[] }
  | { kind: 'exists'; path: ObjectPath }
  | { kind: 'comparison-operator'; operator: 'AND' | 'OR'; left: ComparisonExpression; right: ComparisonExpression };

/** A qualifier on an observation expression. @see STIX 2.1 §9.6 */
export type Qualifier = { kind: 'within'; seconds: number } | { kind: 'repeats'; times: number } | { kind: 'start-stop'; start: string; stop: string };

/** An observation expression: `[...]`, observations joined by AND/OR/FOLLOWEDBY, or a qualified one. @see STIX 2.1 §9.5 */
export type ObservationExpression =
  | { kind: 'observation'; expression: ComparisonExpression }
  | { kind: 'observation-operator'; operator: 'AND' | 'OR' | 'FOLLOWEDBY'; left: ObservationExpression; right: ObservationExpression }
  | { kind: 'qualified'; expression: ObservationExpression; qualifier: Qualifier };

/** A parsed pattern: its top observation expression. @see STIX 2.1 §9.2 */
export type PatternAst = ObservationExpression;

/** Stable codes of pattern errors. @see STIX 2.1 §9 */
export type PatternErrorCode =
  | 'EMPTY_PATTERN'
  | 'UNEXPECTED_CHARACTER'
  | 'UNTERMINATED_LITERAL'
  | 'INVALID_LITERAL'
  | 'UNEXPECTED_TOKEN'
  | 'UNKNOWN_OBJECT_TYPE'
  | 'UNKNOWN_PROPERTY'
  | 'MIXED_OBJECT_TYPES'
  | 'INVALID_OPERAND'
  | 'INVALID_QUALIFIER';

/** A pattern error: where (0-based `offset`, 1-based `line`/`column`) and a message that says what to fix. @see STIX 2.1 §9 */
export interface PatternError {
  code: PatternErrorCode;
  message: string;
  offset: number;
  line: number;
  column: number;
}

// ---------------------------------------------------------------------------------------------
// Lexer

const KEYWORDS = new Set([
  'AND',
  'OR',
  'NOT',
  'FOLLOWEDBY',
  'LIKE',
  'MATCHES',
  'ISSUPERSET',
  'ISSUBSET',
  'EXISTS',
  'LAST',
  'IN',
  'START',
  'STOP',
  'SECONDS',
  'WITHIN',
  'REPEATS',
  'TIMES',
]);

type Token =
  | { kind: '[' | ']' | '(' | ')' | ',' | ':' | '.' | '*' | 'eof'; offset: number }
  | { kind: 'op'; op: '=' | '!=' | '<' | '<=' | '>' | '>='; offset: number }
  | { kind: 'keyword'; word: string; offset: number }
  | { kind: 'ident'; name: string; offset: number }
  | { kind: 'literal'; literal: PatternLiteral; offset: number };

class PatternFailure extends Error {
  constructor(
    readonly code: PatternErrorCode,
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_-]/;
const DIGIT = /[0-9]/;

function describeChar(c: string): string {
  return /\s/.test(c) ? 'a whitespace character' : `'${c}'`;
}

function lex(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    // The STIX grammar skips C-style comments.
    if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) throw new PatternFailure('UNTERMINATED_LITERAL', i, 'comment is not closed; end it with */');
      i = end + 2;
      continue;
    }
    if (c === '/' && text[i + 1] === '/') {
      while (i < n && text[i] !== '\n' && text[i] !== '\r') i++;
      continue;
    }
    const start = i;
    if ('[]():,.*'.includes(c) && !(c === '.' && DIGIT.test(text[i + 1] ?? ''))) {
      tokens.push({ kind: c as '[' | ']' | '(' | ')' | ':' | ',' | '.' | '*', offset: start });
      i++;
      continue;
    }
    if (c === '=') {
      i += text[i + 1] === '=' ? 2 : 1;
      tokens.push({ kind: 'op', op: '=', offset: start });
      continue;
    }
    if (c === '!') {
      if (text[i + 1] !== '=') throw new PatternFailure('UNEXPECTED_CHARACTER', i, "unexpected '!'; write != for 'not equal'");
      i += 2;
      tokens.push({ kind: 'op', op: '!=', offset: start });
      continue;
    }
    if (c === '<') {
      const next = text[i + 1];
      if (next === '>') {
        i += 2;
        tokens.push({ kind: 'op', op: '!=', offset: start });
      } else if (next === '=') {
        i += 2;
        tokens.push({ kind: 'op', op: '<=', offset: start });
      } else {
        i += 1;
        tokens.push({ kind: 'op', op: '<', offset: start });
      }
      continue;
    }
    if (c === '>') {
      const eq = text[i + 1] === '=';
      i += eq ? 2 : 1;
      tokens.push({ kind: 'op', op: eq ? '>=' : '>', offset: start });
      continue;
    }
    if (c === "'") {
      const [value, end] = readString(text, i);
      tokens.push({ kind: 'literal', literal: { type: 'string', value }, offset: start });
      i = end;
      continue;
    }
    if ((c === 't' || c === 'h' || c === 'b') && text[i + 1] === "'") {
      const close = text.indexOf("'", i + 2);
      if (close < 0) throw new PatternFailure('UNTERMINATED_LITERAL', i, `${c}'...' literal is not closed; end it with '`);
      const body = text.slice(i + 2, close);
      tokens.push({ kind: 'literal', literal: typedLiteral(c, body, i), offset: start });
      i = close + 1;
      continue;
    }
    if (DIGIT.test(c) || c === '.' || ((c === '-' || c === '+') && /[0-9.]/.test(text[i + 1] ?? ''))) {
      const [literal, end] = readNumber(text, i);
      tokens.push({ kind: 'literal', literal, offset: start });
      i = end;
      continue;
    }
    if (IDENT_START.test(c)) {
      let j = i + 1;
      while (j < n && IDENT_PART.test(text[j] as string)) j++;
      const word = text.slice(i, j);
      if (KEYWORDS.has(word)) tokens.push({ kind: 'keyword', word, offset: start });
      else if (/^(true|false)$/i.test(word)) tokens.push({ kind: 'literal', literal: { type: 'bool', value: word.toLowerCase() === 'true' }, offset: start });
      else tokens.push({ kind: 'ident', name: word, offset: start });
      i = j;
      continue;
    }
    if (c === '"') throw new PatternFailure('UNEXPECTED_CHARACTER', i, "strings are quoted with single quotes: write 'text', not \"text\"");
    throw new PatternFailure('UNEXPECTED_CHARACTER', i, `unexpected character ${describeChar(c)}; remove it or quote it inside a string`);
  }
  tokens.push({ kind: 'eof', offset: n });
  return tokens;
}

/** Reads a quoted string from `start` (the opening quote); only \' and \\ are escapes. */
function readString(text: string, start: number): [string, number] {
  let out = '';
  let i = start + 1;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === "'") return [out, i + 1];
    if (c === '\\') {
      const next = text[i + 1];
      if (next === "'" || next === '\\') {
        out += next;
        i += 2;
        continue;
      }
      if (next === undefined) break;
      throw new PatternFailure('INVALID_LITERAL', i, `invalid escape '\\${next}' in string; only \\' and \\\\ are allowed (write \\\\ for a backslash)`);
    }
    out += c;
    i++;
  }
  throw new PatternFailure('UNTERMINATED_LITERAL', start, "string is not closed; end it with ' (write \\' for a quote inside it)");
}

function typedLiteral(prefix: 't' | 'h' | 'b', body: string, offset: number): PatternLiteral {
  if (prefix === 't') {
    if (!isValidTimestampText(body)) {
      throw new PatternFailure('INVALID_LITERAL', offset, `invalid timestamp t'${body}'; write an RFC 3339 UTC time such as t'2026-01-31T09:00:00Z'`);
    }
    return { type: 'timestamp', value: body };
  }
  if (prefix === 'h') {
    if (!/^(?:[0-9a-fA-F]{2})*$/.test(body)) {
      throw new PatternFailure('INVALID_LITERAL', offset, 'invalid hex literal; write pairs of hex digits such as h\'ff00\'');
    }
    return { type: 'hex', value: body };
  }
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(body)) {
    throw new PatternFailure('INVALID_LITERAL', offset, "invalid binary literal; write padded base64 such as b'AQID'");
  }
  return { type: 'binary', value: body };
}

function readNumber(text: string, start: number): [PatternLiteral, number] {
  let i = start;
  const sign = text[i] === '-' || text[i] === '+' ? (text[i++] as string) : '';
  const intStart = i;
  while (DIGIT.test(text[i] ?? '')) i++;
  const intPart = text.slice(intStart, i);
  if (text[i] === '.' && DIGIT.test(text[i + 1] ?? '')) {
    i++;
    const fracStart = i;
    while (DIGIT.test(text[i] ?? '')) i++;
    const value = Number(`${sign === '-' ? '-' : ''}${intPart || '0'}.${text.slice(fracStart, i)}`);
    return [{ type: 'float', value: value === 0 ? 0 : value }, i];
  }
  if (intPart === '') throw new PatternFailure('INVALID_LITERAL', start, 'a number needs digits, for example 443 or 0.5');
  if (intPart.length > 1 && intPart.startsWith('0')) {
    throw new PatternFailure('INVALID_LITERAL', start, `integer ${sign}${intPart} has a leading zero; remove it`);
  }
  const value = Number(`${sign === '-' ? '-' : ''}${intPart}`);
  if (!Number.isSafeInteger(value)) {
    throw new PatternFailure('INVALID_LITERAL', start, `integer ${sign}${intPart} is too large; integers must lie within ±${Number.MAX_SAFE_INTEGER}`);
  }
  return [{ type: 'int', value: value === 0 ? 0 : value }, i];
}

// ---------------------------------------------------------------------------------------------
// Parser

function describe(t: Token): string {
  switch (t.kind) {
    case 'eof':
      return 'the end of the pattern';
    case 'op':
      return `'${t.op}'`;
    case 'keyword':
      return t.word;
    case 'ident':
      return `'${t.name}'`;
    case 'literal':
      return `a ${t.literal.type} literal`;
    default:
      return `'${t.kind}'`;
  }
}

const PROPERTY_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

class Parser {
  private pos = 0;

  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.pos] as Token;
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.pos++;
    return t;
  }

  private isKeyword(word: string): boolean {
    const t = this.peek();
    return t.kind === 'keyword' && t.word === word;
  }

  private expect(kind: '[' | ']' | '(' | ')' | ':', hint: string): void {
    const t = this.peek();
    if (t.kind !== kind) throw new PatternFailure('UNEXPECTED_TOKEN', t.offset, `expected '${kind}' but found ${describe(t)}; ${hint}`);
    this.pos++;
  }

  private expectKeyword(word: string, hint: string): void {
    const t = this.peek();
    if (!(t.kind === 'keyword' && t.word === word)) throw new PatternFailure('UNEXPECTED_TOKEN', t.offset, `expected ${word} but found ${describe(t)}; ${hint}`);
    this.pos++;
  }

  parse(): PatternAst {
    const first = this.peek();
    if (first.kind === 'eof') {
      throw new PatternFailure('EMPTY_PATTERN', 0, "pattern is empty; write an observation expression such as [ipv4-addr:value = '198.51.100.1']");
    }
    const ast = this.followedBy();
    const t = this.peek();
    if (t.kind !== 'eof') {
      throw new PatternFailure('UNEXPECTED_TOKEN', t.offset, `unexpected ${describe(t)} after a complete observation; join observations with AND, OR or FOLLOWEDBY`);
    }
    return ast;
  }

  private followedBy(): ObservationExpression {
    let left = this.observationOr();
    while (this.isKeyword('FOLLOWEDBY')) {
      this.pos++;
      left = { kind: 'observation-operator', operator: 'FOLLOWEDBY', left, right: this.observationOr() };
    }
    return left;
  }

  private observationOr(): ObservationExpression {
    let left = this.observationAnd();
    while (this.isKeyword('OR')) {
      this.pos++;
      left = { kind: 'observation-operator', operator: 'OR', left, right: this.observationAnd() };
    }
    return left;
  }

  private observationAnd(): ObservationExpression {
    let left = this.qualified();
    while (this.isKeyword('AND')) {
      this.pos++;
      left = { kind: 'observation-operator', operator: 'AND', left, right: this.qualified() };
    }
    return left;
  }

  private qualified(): ObservationExpression {
    let expression = this.observationPrimary();
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'keyword') return expression;
      if (t.word === 'WITHIN') {
        this.pos++;
        const v = this.next();
        if (v.kind !== 'literal' || (v.literal.type !== 'int' && v.literal.type !== 'float') || v.literal.value <= 0) {
          throw new PatternFailure('INVALID_QUALIFIER', v.offset, 'WITHIN needs a positive number of seconds, as in WITHIN 300 SECONDS');
        }
        this.expectKeyword('SECONDS', 'write the unit, as in WITHIN 300 SECONDS');
        expression = { kind: 'qualified', expression, qualifier: { kind: 'within', seconds: v.literal.value } };
      } else if (t.word === 'REPEATS') {
        this.pos++;
        const v = this.next();
        if (v.kind !== 'literal' || v.literal.type !== 'int' || v.literal.value <= 0) {
          throw new PatternFailure('INVALID_QUALIFIER', v.offset, 'REPEATS needs a positive integer, as in REPEATS 5 TIMES');
        }
        this.expectKeyword('TIMES', 'write REPEATS n TIMES');
        expression = { kind: 'qualified', expression, qualifier: { kind: 'repeats', times: v.literal.value } };
      } else if (t.word === 'START') {
        this.pos++;
        const start = this.timestamp('START');
        this.expectKeyword('STOP', "a START qualifier needs its STOP: START t'...' STOP t'...'");
        const stopToken = this.peek();
        const stop = this.timestamp('STOP');
        if (compareTimestampText(start, stop) >= 0) {
          throw new PatternFailure('INVALID_QUALIFIER', stopToken.offset, 'the STOP time must be later than the START time');
        }
        expression = { kind: 'qualified', expression, qualifier: { kind: 'start-stop', start, stop } };
      } else {
        return expression;
      }
    }
  }

  private timestamp(word: string): string {
    const t = this.next();
    if (t.kind !== 'literal' || t.literal.type !== 'timestamp') {
      throw new PatternFailure('INVALID_QUALIFIER', t.offset, `${word} needs a timestamp literal such as t'2026-01-31T09:00:00Z'`);
    }
    return t.literal.value;
  }

  private observationPrimary(): ObservationExpression {
    const t = this.peek();
    if (t.kind === '[') {
      this.pos++;
      const expression = this.comparisonOr();
      this.expect(']', 'close the observation expression with ]');
      return { kind: 'observation', expression };
    }
    if (t.kind === '(') {
      this.pos++;
      const inner = this.followedBy();
      this.expect(')', 'close the group with )');
      return inner;
    }
    throw new PatternFailure('UNEXPECTED_TOKEN', t.offset, `expected '[' to open an observation expression (or '(' to group them) but found ${describe(t)}`);
  }

  private comparisonOr(): ComparisonExpression {
    let left = this.comparisonAnd();
    while (this.isKeyword('OR')) {
      this.pos++;
      left = { kind: 'comparison-operator', operator: 'OR', left, right: this.comparisonAnd() };
    }
    return left;
  }

  private comparisonAnd(): ComparisonExpression {
    let left = this.propTest();
    while (this.isKeyword('AND')) {
      const andOffset = this.peek().offset;
      this.pos++;
      const right = this.propTest();
      const types = new Set([...objectTypesOf(left), ...objectTypesOf(right)]);
      if (types.size > 1) {
        throw new PatternFailure(
          'MIXED_OBJECT_TYPES',
          andOffset,
          `comparisons joined by AND must test the same object type, found ${[...types].join(' and ')}; use OR, or put them in separate observations [..] AND [..]`,
        );
      }
      left = { kind: 'comparison-operator', operator: 'AND', left, right };
    }
    return left;
  }

  private propTest(): ComparisonExpression {
    const t = this.peek();
    if (t.kind === '(') {
      this.pos++;
      const inner = this.comparisonOr();
      this.expect(')', 'close the group with )');
      return inner;
    }
    if (t.kind === 'keyword' && t.word === 'EXISTS') {
      this.pos++;
      return { kind: 'exists', path: this.objectPath() };
    }
    const path = this.objectPath();
    const negated = this.isKeyword('NOT');
    if (negated) this.pos++;
    const opToken = this.next();
    if (opToken.kind === 'op') return { kind: 'comparison', path, operator: opToken.op, negated, value: this.operand(opToken.op) };
    if (opToken.kind === 'keyword') {
      switch (opToken.word) {
        case 'IN':
          return { kind: 'in', path, negated, values: this.set() };
        case 'LIKE':
        case 'MATCHES':
        case 'ISSUBSET':
        case 'ISSUPERSET':
          return { kind: 'comparison', path, operator: opToken.word, negated, value: this.operand(opToken.word) };
        default:
          break;
      }
    }
    const lower = opToken.kind === 'ident' && KEYWORDS.has(opToken.name.toUpperCase()) ? ` (operators are upper case: ${opToken.name.toUpperCase()})` : '';
    throw new PatternFailure(
      'UNEXPECTED_TOKEN',
      opToken.offset,
      `expected a comparison operator (=, !=, <, <=, >, >=, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET) after the object path but found ${describe(opToken)}${lower}`,
    );
  }

  private operand(op: ComparisonOperator): PatternLiteral {
    const t = this.next();
    if (t.kind !== 'literal') {
      const hint = t.kind === 'ident' ? `; quote strings: '${t.name}'` : '';
      throw new PatternFailure('INVALID_OPERAND', t.offset, `expected a literal after ${op} but found ${describe(t)}${hint}`);
    }
    const type = t.literal.type;
    if ((op === '>' || op === '<' || op === '>=' || op === '<=') && type === 'bool') {
      throw new PatternFailure('INVALID_OPERAND', t.offset, `${op} compares ordered values; a boolean can only be compared with = or !=`);
    }
    if ((op === 'LIKE' || op === 'MATCHES' || op === 'ISSUBSET' || op === 'ISSUPERSET') && type !== 'string') {
      throw new PatternFailure('INVALID_OPERAND', t.offset, `${op} needs a quoted string operand, found a ${type} literal`);
    }
    return t.literal;
  }

  private set(): PatternLiteral[] {
    this.expect('(', "IN needs a parenthesised list, as in IN ('a', 'b')");
    const values: PatternLiteral[] = [];
    if (this.peek().kind === ')') {
      this.pos++;
      return values;
    }
    for (;;) {
      const t = this.next();
      if (t.kind !== 'literal') throw new PatternFailure('INVALID_OPERAND', t.offset, `expected a literal in the IN list but found ${describe(t)}`);
      values.push(t.literal);
      const sep = this.next();
      if (sep.kind === ')') return values;
      if (sep.kind !== ',') throw new PatternFailure('UNEXPECTED_TOKEN', sep.offset, `expected ',' or ')' in the IN list but found ${describe(sep)}`);
    }
  }

  private objectPath(): ObjectPath {
    const t = this.next();
    if (t.kind !== 'ident') {
      throw new PatternFailure('UNEXPECTED_TOKEN', t.offset, `expected an object path such as ipv4-addr:value but found ${describe(t)}`);
    }
    const objectType = t.name;
    checkObjectType(objectType, t.offset);
    this.expect(':', `write the object type and property joined by a colon, as in ${objectType}:value`);
    const firstToken = this.peek();
    const first = this.key('a property name');
    if (isKnownScoType(objectType) && !isKnownScoProperty(objectType, first)) {
      throw new PatternFailure('UNKNOWN_PROPERTY', firstToken.offset, `${objectType} has no property '${first}'; use a STIX 2.1 property of ${objectType} or a custom one starting with x_`);
    }
    const steps: PathStep[] = [{ kind: 'key', key: first }];
    for (;;) {
      const s = this.peek();
      if (s.kind === '.') {
        this.pos++;
        steps.push({ kind: 'key', key: this.key('a property name after .') });
      } else if (s.kind === '[') {
        this.pos++;
        const idx = this.next();
        if (idx.kind === '*') steps.push({ kind: 'index', index: '*' });
        else if (idx.kind === 'literal' && idx.literal.type === 'int' && idx.literal.value >= 0) steps.push({ kind: 'index', index: idx.literal.value });
        else throw new PatternFailure('UNEXPECTED_TOKEN', idx.offset, `a list index must be a non-negative integer or *, as in [0] or [*]; found ${describe(idx)}`);
        this.expect(']', 'close the list index with ]');
      } else {
        return { objectType, steps };
      }
    }
  }

  private key(what: string): string {
    const t = this.next();
    if (t.kind === 'literal' && t.literal.type === 'string') return t.literal.value;
    if (t.kind === 'literal' && t.literal.type === 'bool') return String(t.literal.value);
    if (t.kind === 'ident') {
      if (t.name.includes('-')) {
        throw new PatternFailure('UNEXPECTED_TOKEN', t.offset, `property name '${t.name}' contains '-'; quote it: '${t.name}'`);
      }
      return t.name;
    }
    throw new PatternFailure('UNEXPECTED_TOKEN', t.offset, `expected ${what} but found ${describe(t)}`);
  }
}

function checkObjectType(type: string, offset: number): void {
  if (!/^[a-z0-9-]+$/.test(type) || type.length < 3 || type.length > 250) {
    throw new PatternFailure('UNKNOWN_OBJECT_TYPE', offset, `object type '${type}' is not valid; type names are 3–250 lower-case letters, digits and hyphens`);
  }
  if (!isKnownScoType(type) && !type.startsWith('x-')) {
    throw new PatternFailure(
      'UNKNOWN_OBJECT_TYPE',
      offset,
      `unknown cyber-observable type '${type}'; use one of ${SCO_TYPES.join(', ')}, or prefix a custom type with x-`,
    );
  }
}

function objectTypesOf(e: ComparisonExpression): string[] {
  if (e.kind === 'comparison-operator') return [...objectTypesOf(e.left), ...objectTypesOf(e.right)];
  return [e.path.objectType];
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * Parses STIX 2.1 pattern text into an AST, checking literal syntax, operand types, qualifiers and
 * (lightly) the cyber-observable vocabulary; failures say where and what to fix.
 * @see STIX 2.1 §9
 */
export function parsePattern(text: string): Result<PatternAst, PatternError> {
  try {
    return ok(new Parser(lex(text)).parse());
  } catch (e) {
    if (e instanceof PatternFailure) return err({ code: e.code, message: e.message, offset: e.offset, ...lineColumn(text, e.offset) });
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Printer

const OBSERVATION_PRECEDENCE = { FOLLOWEDBY: 1, OR: 2, AND: 3 } as const;
const COMPARISON_PRECEDENCE = { OR: 1, AND: 2 } as const;

function observationPrecedence(e: ObservationExpression): number {
  return e.kind === 'observation-operator' ? OBSERVATION_PRECEDENCE[e.operator] : 4;
}

function comparisonPrecedence(e: ComparisonExpression): number {
  return e.kind === 'comparison-operator' ? COMPARISON_PRECEDENCE[e.operator] : 3;
}

/** Writes a finite number as a STIX float literal: always a decimal point, never an exponent. */
function formatFloat(v: number): string {
  const sign = v < 0 ? '-' : '';
  const s = String(Math.abs(v));
  const e = s.indexOf('e');
  let plain: string;
  if (e < 0) {
    plain = s;
  } else {
    const exp = Number(s.slice(e + 1));
    const mantissa = s.slice(0, e);
    const dot = mantissa.indexOf('.');
    const digits = mantissa.replace('.', '');
    const pointAt = (dot < 0 ? mantissa.length : dot) + exp;
    if (pointAt <= 0) plain = `0.${'0'.repeat(-pointAt)}${digits}`;
    else if (pointAt >= digits.length) plain = digits + '0'.repeat(pointAt - digits.length);
    else plain = `${digits.slice(0, pointAt)}.${digits.slice(pointAt)}`;
  }
  return sign + (plain.includes('.') ? plain : `${plain}.0`);
}

function formatString(s: string): string {
  return `'${s.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

/** Writes one literal in STIX pattern syntax. @see STIX 2.1 §9.3 */
export function formatLiteral(l: PatternLiteral): string {
  switch (l.type) {
    case 'string':
      return formatString(l.value);
    case 'int':
      return String(l.value);
    case 'float':
      return formatFloat(l.value);
    case 'bool':
      return l.value ? 'true' : 'false';
    case 'timestamp':
      return `t'${l.value}'`;
    case 'hex':
      return `h'${l.value}'`;
    case 'binary':
      return `b'${l.value}'`;
  }
}

function formatKey(key: string): string {
  return PROPERTY_NAME.test(key) && !KEYWORDS.has(key) && !/^(true|false)$/i.test(key) ? key : formatString(key);
}

/** Writes an object path such as `file:hashes.'SHA-256'`. @see STIX 2.1 §9.4 */
export function formatObjectPath(p: ObjectPath): string {
  let out = `${p.objectType}:`;
  p.steps.forEach((s, i) => {
    if (s.kind === 'index') out += `[${s.index}]`;
    else out += (i === 0 ? '' : '.') + formatKey(s.key);
  });
  return out;
}

function formatComparison(e: ComparisonExpression): string {
  switch (e.kind) {
    case 'exists':
      return `EXISTS ${formatObjectPath(e.path)}`;
    case 'in':
      return `${formatObjectPath(e.path)} ${e.negated ? 'NOT ' : ''}IN (${e.values.map(formatLiteral).join(', ')})`;
    case 'comparison':
      return `${formatObjectPath(e.path)} ${e.negated ? 'NOT ' : ''}${e.operator} ${formatLiteral(e.value)}`;
    case 'comparison-operator': {
      const p = COMPARISON_PRECEDENCE[e.operator];
      const l = formatComparison(e.left);
      const r = formatComparison(e.right);
      return `${comparisonPrecedence(e.left) < p ? `(${l})` : l} ${e.operator} ${comparisonPrecedence(e.right) <= p ? `(${r})` : r}`;
    }
  }
}

function formatQualifier(q: Qualifier): string {
  switch (q.kind) {
    case 'within':
      return `WITHIN ${Number.isInteger(q.seconds) ? String(q.seconds) : formatFloat(q.seconds)} SECONDS`;
    case 'repeats':
      return `REPEATS ${q.times} TIMES`;
    case 'start-stop':
      return `START t'${q.start}' STOP t'${q.stop}'`;
  }
}

/** Writes an AST back as canonical pattern text; parsing the text gives the same AST. @see STIX 2.1 §9 */
export function formatPattern(ast: PatternAst): string {
  switch (ast.kind) {
    case 'observation':
      return `[${formatComparison(ast.expression)}]`;
    case 'qualified': {
      const inner = formatPattern(ast.expression);
      return `${observationPrecedence(ast.expression) < 4 ? `(${inner})` : inner} ${formatQualifier(ast.qualifier)}`;
    }
    case 'observation-operator': {
      const p = OBSERVATION_PRECEDENCE[ast.operator];
      const l = formatPattern(ast.left);
      const r = formatPattern(ast.right);
      return `${observationPrecedence(ast.left) < p ? `(${l})` : l} ${ast.operator} ${observationPrecedence(ast.right) <= p ? `(${r})` : r}`;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Indicator extraction

/** A value a sensor can match directly: an address or CIDR block, a domain, a URL, a file hash or a port. @see STIX 2.1 §9, §6 */
export type ExtractedIndicator =
  | { kind: 'ipv4' | 'ipv6'; value: string; address: string; prefixLength: number; path: string }
  | { kind: 'domain'; value: string; path: string }
  | { kind: 'url'; value: string; path: string }
  | { kind: 'hash'; algorithm: string; value: string; path: string }
  | { kind: 'port'; value: number; path: string };

const HASH_NAMES: Readonly<Record<string, string>> = {
  md5: 'MD5',
  'sha-1': 'SHA-1',
  sha1: 'SHA-1',
  'sha-256': 'SHA-256',
  sha256: 'SHA-256',
  'sha-512': 'SHA-512',
  sha512: 'SHA-512',
  'sha3-256': 'SHA3-256',
  'sha3-512': 'SHA3-512',
  ssdeep: 'SSDEEP',
  tlsh: 'TLSH',
};

function addressOf(value: string, path: string): ExtractedIndicator | undefined {
  const block = parseAddressBlock(value);
  return block === undefined ? undefined : { kind: block.family === 4 ? 'ipv4' : 'ipv6', value, address: block.address, prefixLength: block.prefixLength, path };
}

function indicatorFor(path: ObjectPath, literal: PatternLiteral): ExtractedIndicator | undefined {
  // List indexes do not change what a value is (resolves_to_refs[*].value is still an address).
  const keys = path.steps.flatMap((s) => (s.kind === 'key' ? [s.key] : []));
  const text = formatObjectPath(path);
  const [first, second] = keys;
  const t = path.objectType;
  if (literal.type === 'int') {
    if (t === 'network-traffic' && keys.length === 1 && (first === 'dst_port' || first === 'src_port') && literal.value >= 0 && literal.value <= 65535) {
      return { kind: 'port', value: literal.value, path: text };
    }
    return undefined;
  }
  if (literal.type !== 'string') return undefined;
  const v = literal.value.trim();
  if ((t === 'ipv4-addr' || t === 'ipv6-addr') && first === 'value' && keys.length === 1) {
    const a = addressOf(v, text);
    return a !== undefined && a.kind === (t === 'ipv4-addr' ? 'ipv4' : 'ipv6') ? a : undefined;
  }
  if (t === 'domain-name' && first === 'value' && keys.length === 1) return isDomainName(v) ? { kind: 'domain', value: v.toLowerCase().replace(/\.$/, ''), path: text } : undefined;
  if (t === 'url' && first === 'value' && keys.length === 1) return { kind: 'url', value: v, path: text };
  if ((t === 'file' || t === 'artifact' || t === 'x509-certificate') && first === 'hashes' && second !== undefined && keys.length === 2) {
    const algorithm = HASH_NAMES[second.toLowerCase()] ?? second;
    // Hex digests compare case-insensitively; fuzzy hashes (SSDEEP) keep their case.
    return { kind: 'hash', algorithm, value: /^[0-9a-f]+$/i.test(v) ? v.toLowerCase() : v, path: text };
  }
  // A reference followed to the address, domain or URL object it points at (e.g. network-traffic:dst_ref.value).
  if (keys.length === 2 && first !== undefined && /_refs?$/.test(first) && second === 'value') {
    return addressOf(v, text) ?? (isDomainName(v) && /[a-z]/i.test(v) ? { kind: 'domain', value: v.toLowerCase().replace(/\.$/, ''), path: text } : undefined);
  }
  return undefined;
}

function collect(e: ComparisonExpression, out: ExtractedIndicator[]): void {
  switch (e.kind) {
    case 'comparison-operator':
      collect(e.left, out);
      collect(e.right, out);
      return;
    case 'exists':
      return;
    case 'in':
      if (!e.negated) for (const v of e.values) pushIndicator(out, indicatorFor(e.path, v));
      return;
    case 'comparison':
      // Only positive equality (and CIDR containment for addresses) names values a sensor can match.
      if (e.negated) return;
      if (e.operator === '=') pushIndicator(out, indicatorFor(e.path, e.value));
      else if (e.operator === 'ISSUBSET') {
        const found = indicatorFor(e.path, e.value);
        if (found?.kind === 'ipv4' || found?.kind === 'ipv6') pushIndicator(out, found);
      }
      return;
  }
}

function pushIndicator(out: ExtractedIndicator[], found: ExtractedIndicator | undefined): void {
  if (found === undefined) return;
  const key = JSON.stringify(found);
  if (!out.some((o) => JSON.stringify(o) === key)) out.push(found);
}

function walk(ast: ObservationExpression, out: ExtractedIndicator[]): void {
  if (ast.kind === 'observation') collect(ast.expression, out);
  else if (ast.kind === 'qualified') walk(ast.expression, out);
  else {
    walk(ast.left, out);
    walk(ast.right, out);
  }
}

/**
 * Lists the simple values a pattern names with positive equality, IN or CIDR ISSUBSET: addresses and
 * CIDR blocks, domains, URLs, file hashes and network-traffic ports, each once, in pattern order.
 * @see STIX 2.1 §9.5, §6
 */
export function extractIndicators(ast: PatternAst): ExtractedIndicator[] {
  const out: ExtractedIndicator[] = [];
  walk(ast, out);
  return out;
}
