// An entity page: one address, prefix, pseudonym, domain or indicator with its findings, flows over time, cases,
// measures, intelligence and sightings (`GET /api/v1/entities/:kind/:value`), each part as far as the role may see.
import { useCallback, useMemo, type ReactNode } from 'react';
import { useI18n, type MessageKey } from '../i18n/index.js';
import { Link } from '../lib/router.js';
import { hasRole, useActor } from '../lib/session.js';
import { useApi } from '../lib/use-api.js';
import { Async, Badge, Facts, PageTitle, Time } from '../components/ui.js';
import { DataTable, type Column } from '../components/data-table.js';
import { FlowsOverTime, type FlowFilters } from '../components/flows-over-time.js';
import { entityPath, type EntityKind } from '../components/entity-link.js';

interface FindingRow { id: string; kind: string; subject: { kind: string; value: string }; level: 'info' | 'suspect' | 'alert'; score: number; hostCount: number; lastSeen: number; firstSeen: number }
type Part<T> = { status: 'withheld' } | ({ status: 'ok' } & T);
interface EntityAnswer {
  entity: { kind: EntityKind; value: string };
  findings: Part<{ items: FindingRow[] }>;
  cases: Part<{ items: { id: string; title: string; status: string; ownerName: string | null; updatedAt: string; findingIds: string[] }[] }>;
  measures: Part<{ items: { id: string; title: string; kind: string; state: string; agency: string; proposedAt: string }[] }>;
  intel: Part<{
    indicators: { kind: string; value: string; sourceType: string; confidence: number; firstSeen: string; lastSeen: string; validUntil: string | null }[];
    sightings: { indicatorId: string; at: string; outcome: string; count: number; confidenceBefore: number; confidenceAfter: number; reporterOrg: string | null }[];
  }>;
}

const LEVEL_TONE = { info: 'info', suspect: 'warn', alert: 'bad' } as const;

function Section({ id, title, part, children }: { id: string; title: string; part: { status: string }; children: ReactNode }) {
  const { t } = useI18n();
  return (
    <section aria-labelledby={id}><h2 id={id}>{title}</h2>
      {part.status === 'withheld' ? <p className="state empty">{t('entity.withheld')}</p> : children}
    </section>
  );
}

/** The columns of a findings table (shared with the findings list). */
export function useFindingColumns(): Column<FindingRow>[] {
  const { t } = useI18n();
  return useMemo(() => [
    { id: 'kind', header: t('findings.kind'), value: (f) => t(`findingKind.${f.kind}` as MessageKey), cell: (f) => <Link to={`/app/findings/${f.id}`}>{t(`findingKind.${f.kind}` as MessageKey)}</Link> },
    { id: 'subject', header: t('findings.subject'), value: (f) => f.subject.value, cell: (f) => <Link to={entityPath(f.subject.kind as EntityKind, f.subject.value)}><code>{f.subject.value}</code></Link> },
    { id: 'level', header: t('findings.level'), value: (f) => ({ info: 0, suspect: 1, alert: 2 })[f.level], numeric: true, cell: (f) => <Badge tone={LEVEL_TONE[f.level]}>{t(`level.${f.level}` as MessageKey)}</Badge> },
    { id: 'score', header: t('findings.score'), value: (f) => f.score, numeric: true, cell: (f) => f.score.toFixed(2) },
    { id: 'hosts', header: t('findings.hosts'), value: (f) => f.hostCount, numeric: true },
    { id: 'lastSeen', header: t('findings.lastSeen'), value: (f) => f.lastSeen, numeric: true, cell: (f) => <Time value={f.lastSeen} /> },
  ], [t]);
}

export function EntityPage({ kind, value }: { kind: string; value: string }) {
  const { t, code } = useI18n();
  const actor = useActor();
  const answer = useApi<EntityAnswer>(`/api/v1/entities/${encodeURIComponent(kind)}/${encodeURIComponent(value)}`);
  const columns = useFindingColumns();
  const filters: FlowFilters | undefined = kind === 'address' ? { foreignAddress: value } : kind === 'prefix' ? { foreignPrefix: value } : kind === 'pseudonym' ? { pseudonym: value } : undefined;
  const kindLabel = t(`entityKind.${kind}` as MessageKey);
  const categoryLabel = useCallback((k: string) => code('flowCategory.', k), [code]);
  return (
    <>
      <PageTitle>{t('entity.title', { kind: kindLabel })} <code className="entity-value">{value}</code></PageTitle>
      <Async value={answer}>
        {(d) => (
          <>
            <Facts rows={[
              [t('entity.kind'), kindLabel],
              [t('entity.value'), <code key="v">{d.entity.value}</code>],
              [t('entity.summary'), t('entity.counts', {
                findings: d.findings.status === 'ok' ? d.findings.items.length : '—',
                cases: d.cases.status === 'ok' ? d.cases.items.length : '—',
                measures: d.measures.status === 'ok' ? d.measures.items.length : '—',
                indicators: d.intel.status === 'ok' ? d.intel.indicators.length : '—',
              })],
            ]} />
            <Section id="entity-findings" title={t('entity.findings')} part={d.findings}>
              {d.findings.status === 'ok' && (
                <DataTable prefix="f-" rows={d.findings.items} columns={columns} rowId={(f) => f.id} caption={t('entity.findings')} defaultSort={[{ id: 'lastSeen', desc: true }]} defaultSize={10} empty={t('entity.noFindings')} />
              )}
            </Section>
            {filters !== undefined && hasRole(actor, 'analyst') && (
              <section aria-labelledby="entity-flows"><h2 id="entity-flows">{t('entity.flows')}</h2>
                <FlowsOverTime filters={filters} by="category" label={categoryLabel} idPrefix="entity-flows" />
              </section>
            )}
            <Section id="entity-cases" title={t('entity.cases')} part={d.cases}>
              {d.cases.status === 'ok' && (d.cases.items.length === 0 ? <p className="state empty">{t('entity.noCases')}</p> : (
                <ul className="plain">{d.cases.items.map((c) => (
                  <li key={c.id}><Link to={`/app/cases/${c.id}`}>{c.title}</Link> — {t(`caseStatus.${c.status}` as MessageKey)}, {t('entity.caseOwner', { name: c.ownerName ?? t('entity.unknownPerson') })}, <Time value={c.updatedAt} /></li>
                ))}</ul>
              ))}
            </Section>
            <Section id="entity-measures" title={t('entity.measures')} part={d.measures}>
              {d.measures.status === 'ok' && (d.measures.items.length === 0 ? <p className="state empty">{t('entity.noMeasures')}</p> : (
                <ul className="plain">{d.measures.items.map((m) => (
                  <li key={m.id}><Link to={`/app/measures/${m.id}`}>{m.title}</Link> — {t(`measureKind.${m.kind}` as MessageKey)}, {t(`measureState.${m.state}` as MessageKey)}, {t(`agency.${m.agency}` as MessageKey)}</li>
                ))}</ul>
              ))}
            </Section>
            <Section id="entity-intel" title={t('entity.intel')} part={d.intel}>
              {d.intel.status === 'ok' && (d.intel.indicators.length === 0 ? <p className="state empty">{t('entity.noIntel')}</p> : (
                <div className="table-wrap"><table>
                  <caption className="sr-only">{t('entity.intel')}</caption>
                  <thead><tr><th scope="col">{t('entity.indicator')}</th><th scope="col">{t('entity.source')}</th><th scope="col">{t('entity.confidence')}</th><th scope="col">{t('entity.firstSeen')}</th><th scope="col">{t('entity.lastSeen')}</th><th scope="col">{t('entity.validUntil')}</th></tr></thead>
                  <tbody>{d.intel.indicators.map((i, n) => (
                    <tr key={n}><td><code>{i.value}</code></td><td>{code('indicatorSource.', i.sourceType)}</td><td>{i.confidence}</td><td><Time value={i.firstSeen} /></td><td><Time value={i.lastSeen} /></td><td><Time value={i.validUntil} /></td></tr>
                  ))}</tbody>
                </table></div>
              ))}
              {d.intel.status === 'ok' && d.intel.sightings.length > 0 && (
                <>
                  <h3>{t('entity.sightings')}</h3>
                  <ul className="plain">{d.intel.sightings.map((s, n) => (
                    <li key={n}><Time value={s.at} /> — {t(`sighting.${s.outcome}` as MessageKey)} ×{s.count} ({t('entity.confidenceChange', { before: s.confidenceBefore, after: s.confidenceAfter })}){s.reporterOrg !== null ? `, ${s.reporterOrg}` : ''}</li>
                  ))}</ul>
                </>
              )}
            </Section>
          </>
        )}
      </Async>
    </>
  );
}
