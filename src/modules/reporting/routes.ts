/** @module Reporting's HTTP routes: forms, computer notifications, incident reports, follow-ups, attachments, receipts, inboxes, indicators, sharing. */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { AppError } from '#platform/errors/index.js';
import { ctxOf, streamSignal, type RouteModule } from '#platform/http/index.js';
import { PAGED, parsePageQuery } from '#platform/paging/index.js';
import { EXPORT_FORMATS, renderExport, type ExportFormat } from './export.js';
import type { ReportingService } from './service.js';
import { renderReceiptHtml } from './receipt-html.js';

const EXPORT_TYPES: Record<ExportFormat, string> = { json: 'application/json; charset=utf-8', csv: 'text/csv; charset=utf-8', html: 'text/html; charset=utf-8' };

/** Registers reporting's routes; `attachmentMaxBytes` sets the body limit of the attachment route (base64 grows bytes by 4/3). */
export function reportingRoutes(deps: { reporting: ReportingService; attachmentMaxBytes: number; nowIso: () => string }): RouteModule {
  const { reporting } = deps;
  return (app: FastifyInstance) => {
    const tags = ['reporting'];
    app.get('/api/v1/forms', { config: { auth: { action: 'form:read' } }, schema: { tags, summary: `Notification forms and their versions, by name then version. ${PAGED}` } }, async (req) => reporting.listForms(ctxOf(req), parsePageQuery(req.query)));
    app.get<{ Params: { form: string; version: string } }>('/api/v1/forms/:form/:version', { config: { auth: { action: 'form:read' } }, schema: { tags, summary: 'One form version: its fields with Japanese and English labels.' } }, async (req) => {
      const version = /^\d{1,6}$/.test(req.params.version) ? Number(req.params.version) : NaN;
      if (Number.isNaN(version)) throw new AppError('NOT_FOUND', `No form ${req.params.form} version ${req.params.version}; versions are whole numbers.`);
      return { form: reporting.getForm(ctxOf(req), req.params.form, version) };
    });

    app.post('/api/v1/notifications', { config: { auth: { action: 'notification:file' } }, schema: { tags, summary: 'Notify a specified important computer (introduction, or a change with computerId).' } }, async (req, reply) => {
      const r = await reporting.fileNotification(ctxOf(req), req.body);
      void reply.code(201);
      return r;
    });
    app.get('/api/v1/notifications', { config: { auth: { action: 'notification:read' } }, schema: { tags, summary: 'Notifications you may see, newest first: one page ({ items, nextCursor }; ?limit=, ?cursor=).' } }, async (req) => reporting.listNotifications(ctxOf(req), parsePageQuery(req.query)));
    app.get<{ Params: { id: string } }>('/api/v1/notifications/:id', { config: { auth: { action: 'notification:read' } }, schema: { tags, summary: 'One notification with its diff and deliveries.' } }, async (req) => ({ notification: await reporting.getNotification(ctxOf(req), req.params.id) }));

    app.post('/api/v1/incidents', { config: { auth: { action: 'incident:file' } }, schema: { tags, summary: 'File an initial incident report; starts the clocks.' } }, async (req, reply) => {
      const r = await reporting.fileIncident(ctxOf(req), req.body);
      void reply.code(201);
      return r;
    });
    app.get('/api/v1/incidents', { config: { auth: { action: 'incident:read' } }, schema: { tags, summary: 'Incident reports you may see, newest first: one page ({ items, nextCursor }; ?limit=, ?cursor=).' } }, async (req) => reporting.listIncidents(ctxOf(req), parsePageQuery(req.query)));
    // Streamed: chunks of reports are read, audited and written as the client takes them; a stop or a client that leaves ends it mid-way (the response is cut, never closed as if complete).
    app.get<{ Querystring: { format?: string } }>('/api/v1/incidents/export', { config: { auth: { action: 'incident:read' } }, schema: { tags, summary: 'Export the reports you may see, streamed: ?format=json|csv|html (printable).' } }, async (req, reply) => {
      const format = (req.query.format ?? 'json') as ExportFormat;
      if (!EXPORT_FORMATS.includes(format)) throw new AppError('VALIDATION_FAILED', `format: use ${EXPORT_FORMATS.join(', ')}.`, { details: [{ path: 'format', message: 'unknown format' }] });
      const signal = streamSignal(req, reply);
      void reply.type(EXPORT_TYPES[format]);
      return reply.send(Readable.from(renderExport(reporting.exportIncidents(ctxOf(req), format, { signal }), format, deps.nowIso())));
    });
    app.get<{ Params: { id: string } }>('/api/v1/incidents/:id', { config: { auth: { action: 'incident:read' } }, schema: { tags, summary: 'One incident report: every version, deadlines, attachments, deliveries; and the attachment limits.' } }, async (req) => ({ incident: await reporting.getIncident(ctxOf(req), req.params.id), attachmentLimits: reporting.attachmentLimits() }));
    app.post<{ Params: { id: string } }>('/api/v1/incidents/:id/escalations', { config: { auth: { action: 'incident:escalate' } }, schema: { tags, summary: 'The sector\'s ministry escalates an overdue deadline ({ deadline, note }) to the NCO, with a demand to the operator; once per deadline.' } }, async (req, reply) => {
      const escalation = await reporting.escalateOverdue(ctxOf(req), req.params.id, req.body);
      void reply.code(201);
      return { escalation };
    });
    app.post<{ Params: { id: string } }>('/api/v1/incidents/:id/followups', { config: { auth: { action: 'incident:update' } }, schema: { tags, summary: 'File a follow-up (update or written report): a new version.' } }, async (req, reply) => {
      const r = await reporting.fileFollowUp(ctxOf(req), req.params.id, req.body);
      void reply.code(201);
      return r;
    });
    app.post<{ Params: { id: string } }>('/api/v1/incidents/:id/attachments', {
      bodyLimit: Math.ceil(deps.attachmentMaxBytes / 3) * 4 + 64 * 1024,
      config: { auth: { action: 'incident:update' } },
      schema: { tags, summary: 'Attach a file ({ filename, mediaType, contentBase64 }); stored with its SHA-256.' },
    }, async (req, reply) => {
      const attachment = await reporting.addAttachment(ctxOf(req), req.params.id, req.body);
      void reply.code(201);
      return { attachment };
    });
    app.get<{ Params: { id: string; attachmentId: string } }>('/api/v1/incidents/:id/attachments/:attachmentId', { config: { auth: { action: 'incident:read' } }, schema: { tags, summary: 'Download an attachment.' } }, async (req, reply) => {
      const a = await reporting.getAttachment(ctxOf(req), req.params.id, req.params.attachmentId);
      void reply.type(a.mediaType).header('content-disposition', `attachment; filename="${a.filename.replace(/[^\w.-]/g, '_')}"`).header('x-content-sha256', a.sha256);
      return a.bytes;
    });
    app.put<{ Params: { id: string } }>('/api/v1/incidents/:id/naming-consent', { config: { auth: { action: 'incident:update' } }, schema: { tags, summary: 'The operator agrees (or not) to be named when the report is shared.' } }, async (req) => ({ incident: await reporting.setNamingConsent(ctxOf(req), req.params.id, req.body) }));
    app.put<{ Params: { id: string } }>('/api/v1/incidents/:id/sharing', { config: { auth: { action: 'incident:share' } }, schema: { tags, summary: 'The NCO flags a report for the council (shared sanitized).' } }, async (req) => ({ incident: await reporting.setSharing(ctxOf(req), req.params.id, req.body) }));
    app.get('/api/v1/shared-reports', { config: { auth: { action: 'shared-report:read' } }, schema: { tags, summary: 'Reports shared with the council, sanitized, newest first: one page ({ items, nextCursor }; ?limit=, ?cursor=).' } }, async (req) => reporting.listShared(ctxOf(req), parsePageQuery(req.query)));

    app.get<{ Params: { id: string }; Querystring: { format?: string } }>('/api/v1/receipts/:id', {
      config: { auth: { action: 'receipt:read' } },
      schema: { tags, summary: 'A signed filing receipt: JSON to download, or ?format=html, a printable page with the operator named and how to verify the signature.' },
    }, async (req, reply) => {
      const format = req.query.format ?? 'json';
      if (format !== 'json' && format !== 'html') throw new AppError('VALIDATION_FAILED', 'format: give json or html.', { details: [{ path: 'format', message: 'json or html' }] });
      const r = await reporting.getReceipt(ctxOf(req), req.params.id);
      if (format === 'html') {
        void reply.type('text/html; charset=utf-8');
        return renderReceiptHtml({ receipt: r.receipt, publicKey: r.publicKey, operator: r.operator });
      }
      void reply.header('content-disposition', `attachment; filename="receipt-${r.receipt.receiptId}.json"`);
      return r;
    });
    app.get<{ Querystring: { unacknowledged?: string } }>('/api/v1/inbox', { config: { auth: { action: 'inbox:read' } }, schema: { tags, summary: 'Your inbox (filings to acknowledge for ministry and NCO, reminders and overdue notices for an operator), newest first: one page ({ items, nextCursor }; ?limit=, ?cursor=, ?unacknowledged=true).' } },
      async (req) => reporting.listInbox(ctxOf(req), { unacknowledged: req.query.unacknowledged === 'true', ...parsePageQuery(req.query) }));
    app.post<{ Params: { id: string } }>('/api/v1/inbox/:id/acknowledge', { config: { auth: { action: 'inbox:acknowledge' } }, schema: { tags, summary: 'Acknowledge a filing in your inbox.' } }, async (req) => ({ item: await reporting.acknowledge(ctxOf(req), req.params.id) }));
    app.get<{ Querystring: { source?: string } }>('/api/v1/indicators', { config: { auth: { action: 'indicator:read' } }, schema: { tags, summary: 'Indicators taken from reports (addresses, domains, hashes), newest first: one page ({ items, nextCursor }; ?limit=, ?cursor=, ?source=).' } },
      async (req) => reporting.listIndicators(ctxOf(req), { ...(req.query.source !== undefined ? { sourceId: req.query.source } : {}), ...parsePageQuery(req.query) }));
  };
}
