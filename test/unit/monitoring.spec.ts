import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ServiceMetrics } from '../../libs/metrics/index.js';

// The monitoring files in docker/monitoring are read by Prometheus and Grafana, not by the
// service: these checks keep them parseable and in step with the series the code exports, so a
// renamed metric cannot leave an alert silently watching nothing.

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { summary: string };
}
const rules = (parse(readFileSync('docker/monitoring/alerts.yml', 'utf8')) as { groups: { name: string; rules: Rule[] }[] }).groups.flatMap((g) => g.rules);

/** Series families the API and the worker export (histograms' _bucket/_sum/_count included). */
const exported = new Set(
  [new ServiceMetrics('api'), new ServiceMetrics('worker')]
    .flatMap((m) => m.registry.getMetricsAsArray().flatMap((metric) => (String(metric.type) === 'histogram' ? ['_bucket', '_sum', '_count'].map((s) => metric.name + s) : [metric.name]))),
);
/** Series Prometheus makes itself for every target. */
const PROMETHEUS_OWN = new Set(['up']);

/**
 * Metric names in a PromQL expression: what is left once strings, label matchers, ranges and
 * grouping clauses are removed, minus functions (followed by `(`), keywords and numbers. Enough
 * for the expressions in these files; a PromQL parser would be a large dependency for one check.
 */
function seriesIn(expr: string): string[] {
  const bare = expr
    .replace(/"[^"]*"/g, '')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const keywords = new Set(['and', 'or', 'unless', 'bool', 'offset']);
  const names = [...bare.matchAll(/\b([a-zA-Z_:][\w:]*)\b(?!\s*\()/g)].map((m) => m[1]).filter((n) => !keywords.has(n));
  return [...new Set(names)];
}

describe('docker/monitoring/alerts.yml', () => {
  it('parses, and pages on fixity failure, a stale checkpoint, a stuck queue, S3, database and disk errors', () => {
    expect(rules.map((r) => r.alert)).toEqual(
      expect.arrayContaining(['DemsFixityFailure', 'DemsCheckpointStale', 'DemsQueueStuck', 'DemsS3Errors', 'DemsDatabaseErrors', 'DemsStagingDiskLow', 'DemsTargetDown']),
    );
    for (const name of ['DemsFixityFailure', 'DemsCheckpointStale', 'DemsQueueStuck', 'DemsS3Errors', 'DemsStagingDiskLow']) {
      expect(rules.find((r) => r.alert === name)?.labels.severity).toBe('page');
    }
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
    for (const r of rules) {
      expect(['page', 'ticket']).toContain(r.labels.severity);
      expect(r.annotations.summary).toBeTruthy();
      if (r.for) expect(r.for).toMatch(/^\d+[smh]$/);
    }
  });

  it.each(rules.map((r) => [r.alert, r.expr]))('%s watches only series the service exports', (_name, expr) => {
    const names = seriesIn(expr);
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((n) => !exported.has(n) && !PROMETHEUS_OWN.has(n))).toEqual([]);
  });

  it('finds series in an expression, and not the labels or functions around them', () => {
    expect(seriesIn('sum by (queue) (increase(dems_job_failures_total{queue="x"}[15m])) > 10 and max(up) == 0')).toEqual(['dems_job_failures_total', 'up']);
  });
});

describe('docker/monitoring/grafana-dashboard.json and prometheus.yml', () => {
  const dashboard = JSON.parse(readFileSync('docker/monitoring/grafana-dashboard.json', 'utf8')) as { uid: string; panels: { title: string; targets: { expr: string }[] }[] };

  it('draws only series the service exports', () => {
    expect(dashboard.uid).toBeTruthy();
    for (const p of dashboard.panels) {
      for (const t of p.targets) expect({ panel: p.title, unknown: seriesIn(t.expr).filter((n) => !exported.has(n)) }).toEqual({ panel: p.title, unknown: [] });
    }
  });

  it('scrapes every api and worker replica with the bearer token, and loads the alert rules', () => {
    const prom = parse(readFileSync('docker/monitoring/prometheus.yml', 'utf8')) as {
      rule_files: string[];
      scrape_configs: { job_name: string; authorization?: { credentials_file?: string }; dns_sd_configs: { names: string[]; port: number }[] }[];
    };
    expect(prom.rule_files).toEqual(['/etc/prometheus/alerts.yml']);
    expect(prom.scrape_configs.map((s) => s.job_name).sort()).toEqual(['dems-api', 'dems-worker']);
    for (const s of prom.scrape_configs) {
      expect(s.authorization?.credentials_file).toBeTruthy();
      expect(s.dns_sd_configs[0].port).toBe(9464);
    }
  });
});
