/** @module Tests that secrets and sensitive fields never reach a log line, including a database error's echo of row data. */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './index.js';

function capture(): { lines: string[]; logger: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const destination = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(chunk.toString('utf8')); done(); } });
  return { lines, logger: createLogger({ level: 'info', destination }) };
}

describe('logger redaction', () => {
  it('removes passwords, tokens, credentials, bodies and addresses', () => {
    const { lines, logger } = capture();
    logger.info({ password: 'hunter2-pass', token: 'tok-SECRET', user: { secret: 's3cr3t' }, req: { headers: { authorization: 'Bearer abc.def', cookie: 'sid=xyz' } }, body: { summary: 'incident text' }, srcAddr: '133.1.2.3', flow: { dstAddr: '64.1.2.3' } }, 'probe');
    const text = lines.join('');
    for (const s of ['hunter2-pass', 'tok-SECRET', 's3cr3t', 'Bearer abc.def', 'sid=xyz', 'incident text', '133.1.2.3', '64.1.2.3']) expect(text).not.toContain(s);
    expect(text).toContain('[redacted]');
    expect(text).toContain('probe');
  });

  it("drops the row data a database error echoes (PostgreSQL's detail, the statement's parameters) but keeps what to fix", () => {
    const { lines, logger } = capture();
    const err = Object.assign(new Error('null value in column "summary" violates not-null constraint'), {
      code: '23502', detail: 'Failing row contains (r1, operator-a, Ransomware at plant 3, 133.1.2.3).', where: 'SQL statement "insert into x values (…)"',
      parameters: ['Ransomware at plant 3', '133.1.2.3'], sql: 'insert into reporting_incidents values ($1, $2)',
    });
    logger.error({ err, requestId: 'req-1' }, 'request failed');
    const line = JSON.parse(lines[0]!) as { err: Record<string, unknown> };
    expect(JSON.stringify(line)).not.toContain('Ransomware at plant 3');
    expect(JSON.stringify(line)).not.toContain('133.1.2.3');
    expect(line.err['message']).toContain('violates not-null constraint');
    expect(line.err['code']).toBe('23502');
  });
});
