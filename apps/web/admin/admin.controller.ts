import { Controller, Get, Inject, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ApiError } from '../api-client.js';
import { WebApi } from '../web-api.service.js';

interface Readiness {
  status?: string;
  checks?: Record<string, { status: string; latencyMs: number; error?: string }>;
  fixity?: { alert: boolean; changed: number; missing: number; lastRunAt: string | null };
  details?: { failing?: string[] };
}

/**
 * Journey 7 (part): the service's health and storage guarantees, and its users. The API decides
 * who may see this page: its user list is for administrators, so anyone else gets its refusal.
 */
@Controller('admin')
export class AdminController {
  constructor(@Inject(WebApi) private readonly api: WebApi) {}

  @Get()
  async page(@Req() req: Request, @Res() res: Response) {
    const client = this.api.as(req);
    const users = await client.get<{ items?: unknown[] } | unknown[]>('/api/v1/users');
    const [system, health] = await Promise.all([
      client.get<{ service: string; version: string; storage: { originalsWriteOnce: boolean; note?: string } }>('/api/v1/system'),
      // Not ready is an answer too (503 naming what fails): shown, not treated as an error page.
      client.get<Readiness>('/health/ready').catch((e: unknown) => {
        if (e instanceof ApiError && e.status === 503) return { status: 'not_ready', details: e.details } as Readiness;
        throw e;
      }),
    ]);
    res.render('pages/admin/index', { users: Array.isArray(users) ? users : (users.items ?? []), system, health });
  }
}
