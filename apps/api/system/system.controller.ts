import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/request-context.js';
import { ObjectStore } from '../../../libs/storage/index.js';
import { SERVICE_VERSION } from '../version.js';

@Public()
@ApiTags('system')
@Controller({ path: 'system', version: '1' })
export class SystemController {
  constructor(@Inject(ObjectStore) private readonly store: ObjectStore) {}

  @Get()
  @ApiOperation({ summary: 'Service name, version and storage guarantees' })
  info() {
    const caps = this.store.capabilities();
    return {
      service: 'evidence-service',
      version: SERVICE_VERSION,
      storage: { originalsWriteOnce: caps?.objectLock ?? false, note: caps?.summary },
    };
  }
}
