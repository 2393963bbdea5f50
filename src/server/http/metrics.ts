import client from 'prom-client';

/** One Prometheus registry per server instance (tests start several in one process). */
export class HttpMetrics {
  readonly registry = new client.Registry();
  readonly requests = new client.Counter({ name: 'vigil_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'] as const, registers: [this.registry] });
  readonly duration = new client.Histogram({ name: 'vigil_http_request_duration_seconds', help: 'HTTP request duration', labelNames: ['method', 'route'] as const, buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [this.registry] });
  readonly loginFailures = new client.Counter({ name: 'vigil_login_failures_total', help: 'Failed sign-in attempts', registers: [this.registry] });

  constructor() {
    client.collectDefaultMetrics({ register: this.registry, prefix: 'vigil_' });
  }
}
