import type { NextFunction, Request, Response } from 'express';
import type { ServiceMetrics } from '../../libs/metrics/index.js';

/**
 * Times every request and counts it by method, route template (`/api/v1/cases/:caseId`, never
 * the concrete path, so ids do not become series) and status. Requests that matched no route
 * share one label.
 */
export function httpMetrics(metrics: ServiceMetrics) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const end = metrics.httpRequestDuration.startTimer();
    res.once('finish', () => {
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : '(unmatched)';
      end({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  };
}
