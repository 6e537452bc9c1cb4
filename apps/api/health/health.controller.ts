import { Controller, Get, Inject, Res, VERSION_NEUTRAL } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/request-context.js';
import type { Response } from 'express';
import { ReadinessService } from './readiness.service.js';

@Public()
@ApiTags('health')
@Controller({ path: 'health', version: VERSION_NEUTRAL })
export class HealthController {
  constructor(@Inject(ReadinessService) private readonly readiness: ReadinessService) {}

  @Get('live')
  @ApiOperation({ summary: 'The process is up (no dependency checks)' })
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({ summary: 'PostgreSQL, Redis and S3 all answer; 503 names the failing part' })
  async ready(@Res() res: Response) {
    const r = await this.readiness.check();
    if (r.status === 'ready') {
      res.status(200).json(r);
      return;
    }
    const failing = Object.entries(r.checks)
      .filter(([, c]) => c.status === 'down')
      .map(([name]) => name);
    res.status(503).json({
      code: 'NOT_READY',
      message: `Not ready: ${failing.map((f) => `${f} (${r.checks[f as keyof typeof r.checks].error})`).join(', ')}`,
      details: { failing, ...r },
    });
  }
}
