/** @module A minimal /metrics endpoint for cluster roles that run no API (edges, workers). */
import { createServer, type Server } from 'node:http';
import type { MetricsRegistry } from '#platform/metrics/index.js';

/** A listening metrics endpoint. */
export interface MetricsServer {
  /** http://host:port of the endpoint. */
  url: string;
  close(): Promise<void>;
}

/** Serves `GET /metrics` (Prometheus text) and `GET /healthz` on `host:port` (port 0: any free port). */
export async function serveMetrics(metrics: MetricsRegistry, host: string, port: number): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(metrics.render());
    } else if (req.method === 'GET' && req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found: GET /metrics or /healthz\n');
    }
  });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, host, () => resolve()); });
  const a = server.address();
  const p = typeof a === 'object' && a !== null ? a.port : port;
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${p}`, close: () => new Promise((r) => server.close(() => r())) };
}
