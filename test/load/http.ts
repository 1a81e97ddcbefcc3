/** @module The load suite's HTTP client: keep-alive GETs over node:http with their latency, and percentiles. */
import { Agent, request } from 'node:http';

/** One answered (or failed) request: status 0 for a network error or a timeout. */
export interface Sample {
  status: number;
  ms: number;
  bytes: number;
  /** When the request was sent (performance.now()). */
  at: number;
}

/** GETs `url` on `agent`; never throws (a failure is status 0). */
export function get(agent: Agent, url: string, headers: Record<string, string> = {}, timeoutMs = 10_000): Promise<Sample> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = request(url, { agent, headers, timeout: timeoutMs }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => { bytes += c.length; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0, bytes, at: t0 }));
      res.on('error', () => resolve({ status: 0, ms: performance.now() - t0, bytes, at: t0 }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, ms: performance.now() - t0, bytes: 0, at: t0 }));
    req.end();
  });
}

/** The `p`-th percentile (0–100) of `values` by nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** A keep-alive agent holding up to `sockets` connections. */
export function keepAliveAgent(sockets: number): Agent {
  return new Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
}
