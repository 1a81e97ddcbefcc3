/** @module Whether a measure worked: its findings before and after execution, as data for a before/after chart and a plain verdict. */

/** One sample of a finding, taken by response at a transition or a read. */
export interface EffectSample { findingId: string; at: string; score: number; hostCount: number; lastSeen: string; level: string }

/** What the chart shows for one finding. */
export interface FindingEffect {
  findingId: string;
  /** Response's samples, oldest first, marked before or after the start of execution. */
  samples: (EffectSample & { phase: 'before' | 'after' })[];
  /** The finding's own series from analysis, when it keeps one. */
  series: { at: string; score: number; hostCount: number; phase: 'before' | 'after' }[];
  /** True when the finding saw activity after execution started. */
  activeAfter: boolean | null;
}

/** The effect of a measure. */
export interface MeasureEffect {
  measureId: string;
  executingSince: string | null;
  completedAt: string | null;
  generatedAt: string;
  findings: FindingEffect[];
  /**
   * `effective`: no justifying finding saw activity after execution started; `not_effective`: some
   * still did; `pending`: not executed yet; `insufficient_data`: no sample after execution.
   */
  verdict: 'effective' | 'not_effective' | 'pending' | 'insufficient_data';
}

/** Computes the effect from samples and series. @see docs/response.md#effect */
export function computeEffect(input: {
  measureId: string; findingIds: readonly string[]; executingSince: string | null; completedAt: string | null; now: string;
  samples: readonly EffectSample[]; series: ReadonlyMap<string, readonly { at: string; score: number; hostCount: number }[]>;
}): MeasureEffect {
  const start = input.executingSince === null ? null : Date.parse(input.executingSince);
  const phase = (at: string): 'before' | 'after' => (start !== null && Date.parse(at) >= start ? 'after' : 'before');
  const findings = input.findingIds.map((id): FindingEffect => {
    const samples = input.samples.filter((s) => s.findingId === id).map((s) => ({ ...s, phase: phase(s.at) }));
    const series = (input.series.get(id) ?? []).map((p) => ({ ...p, phase: phase(p.at) }));
    let activeAfter: boolean | null = null;
    if (start !== null) {
      const after = samples.filter((s) => s.phase === 'after');
      const seriesAfter = series.filter((p) => p.phase === 'after');
      if (after.length > 0 || seriesAfter.length > 0) {
        activeAfter = after.some((s) => Date.parse(s.lastSeen) > start) || seriesAfter.some((p) => p.hostCount > 0 || p.score > 0);
      }
    }
    return { findingId: id, samples, series, activeAfter };
  });
  let verdict: MeasureEffect['verdict'];
  if (start === null) verdict = 'pending';
  else if (findings.length === 0 || findings.some((f) => f.activeAfter === null)) verdict = findings.some((f) => f.activeAfter === true) ? 'not_effective' : 'insufficient_data';
  else verdict = findings.some((f) => f.activeAfter === true) ? 'not_effective' : 'effective';
  return { measureId: input.measureId, executingSince: input.executingSince, completedAt: input.completedAt, generatedAt: input.now, findings, verdict };
}
