import { Controller, Get } from '@nestjs/common';
import { Public } from './signed-in.guard.js';

@Controller('health')
export class HealthController {
  /** The web process is up (the API's own health says whether the service is ready). */
  @Public()
  @Get('live')
  live() {
    return { status: 'ok' };
  }
}
