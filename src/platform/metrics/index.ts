/** @module A small Prometheus registry: counters and gauges with labels, rendered in the text exposition format. */

type Labels = Record<string, string>;

interface Series {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  values: Map<string, { labels: Labels; value: number }>;
  collect?: () => { labels: Labels; value: number }[];
}

function labelKey(labels: Labels): string {
  return Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(',');
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** A registry of metrics; one per process, passed to components that report. */
export class MetricsRegistry {
  private readonly series = new Map<string, Series>();

  private get(name: string, help: string, type: Series['type']): Series {
    let s = this.series.get(name);
    if (s === undefined) {
      s = { name, help, type, values: new Map() };
      this.series.set(name, s);
    }
    return s;
  }

  /** Adds `by` (default 1) to a counter. */
  inc(name: string, help: string, labels: Labels = {}, by = 1): void {
    const s = this.get(name, help, 'counter');
    const key = labelKey(labels);
    const cur = s.values.get(key);
    if (cur === undefined) s.values.set(key, { labels, value: by });
    else cur.value += by;
  }

  /** Sets a gauge. */
  set(name: string, help: string, labels: Labels, value: number): void {
    this.get(name, help, 'gauge').values.set(labelKey(labels), { labels, value });
  }

  /** Registers a metric whose values are read when scraped (e.g. per-exporter collector counters). */
  collect(name: string, help: string, type: Series['type'], fn: () => { labels: Labels; value: number }[]): void {
    const s = this.get(name, help, type);
    s.collect = fn;
  }

  /** The Prometheus text exposition format (version 0.0.4). @see https://prometheus.io/docs/instrumenting/exposition_formats/ */
  render(): string {
    const lines: string[] = [];
    for (const s of this.series.values()) {
      lines.push(`# HELP ${s.name} ${s.help}`, `# TYPE ${s.name} ${s.type}`);
      const values = [...s.values.values(), ...(s.collect?.() ?? [])];
      for (const v of values) {
        const l = Object.entries(v.labels).map(([k, x]) => `${k}="${escapeLabel(x)}"`).join(',');
        lines.push(`${s.name}${l === '' ? '' : `{${l}}`} ${Number.isFinite(v.value) ? v.value : 0}`);
      }
    }
    return `${lines.join('\n')}\n`;
  }
}
