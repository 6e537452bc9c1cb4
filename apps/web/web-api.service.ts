import { Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import type { WebConfig } from '../../libs/config/index.js';
import { ApiClient } from './api-client.js';

export const WEB_CONFIG = Symbol('WEB_CONFIG');

/** Hands each request handler an API client acting as the signed-in person. */
@Injectable()
export class WebApi {
  constructor(@Inject(WEB_CONFIG) private readonly config: WebConfig) {}

  as(req: Request): ApiClient {
    return new ApiClient(this.config.WEB_API_URL, req);
  }
}
