import { Controller, Get, Inject, Param, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { ApiClient } from '../api-client.js';
import { WebApi } from '../web-api.service.js';

interface Bundle {
  id: string;
  caseId: string;
  version: number;
  audience: 'cps_only' | 'cps_and_defence';
  size: number | null;
  sha256: string | null;
  manifestSha256: string | null;
  createdAt: string;
  completedAt: string | null;
}

interface CaseHeading {
  urnDisplay?: string;
  title?: string;
}

const enc = encodeURIComponent;

/**
 * Journey 5: a CPS lawyer's bundles. The list is the API's "shared with me" (live shares only),
 * each bundle's page shows its facts and how to check it, and the download is a presigned URL
 * the API issues (and records as a disclosure) so the browser fetches the ZIP straight from
 * storage, resuming with Range like any download; its bytes never pass through this server.
 */
@Controller('shared')
export class SharedBundlesController {
  constructor(@Inject(WebApi) private readonly api: WebApi) {}

  @Get()
  async list(@Req() req: Request, @Res() res: Response) {
    const client = this.api.as(req);
    const bundles = await client.get<Bundle[]>('/api/v1/disclosure/bundles');
    const cases = await caseHeadings(client, [...new Set(bundles.map((b) => b.caseId))]);
    res.render('pages/shared/index', { bundles: bundles.map((b) => ({ ...b, kase: cases.get(b.caseId) })) });
  }

  @Get(':bundleId')
  async show(@Param('bundleId') bundleId: string, @Req() req: Request, @Res() res: Response) {
    res.render('pages/shared/bundle', await this.bundlePage(req, bundleId));
  }

  /** A fresh download link: the API records the disclosure before it issues one, so it is a POST. */
  @Post(':bundleId/download')
  async download(@Param('bundleId') bundleId: string, @Req() req: Request, @Res() res: Response) {
    const client = this.api.as(req);
    const [page, link] = await Promise.all([
      this.bundlePage(req, bundleId),
      client.post<{ url: string; expiresAt: string; size: number; sha256: string; fileName: string }>(`/api/v1/disclosure/bundles/${enc(bundleId)}/download-url`),
    ]);
    res.render('pages/shared/bundle', { ...page, link });
  }

  private async bundlePage(req: Request, bundleId: string) {
    const client = this.api.as(req);
    const bundle = await client.get<Bundle>(`/api/v1/disclosure/bundles/${enc(bundleId)}`);
    const cases = await caseHeadings(client, [bundle.caseId]);
    return { bundle, kase: cases.get(bundle.caseId), fileName: `bundle-${bundle.version}-${bundle.id}.zip` };
  }
}

/** The URN and title of each case, as the API shows them to the recipient (none when it shows nothing). */
async function caseHeadings(client: ApiClient, caseIds: string[]): Promise<Map<string, CaseHeading | undefined>> {
  const found = await Promise.all(caseIds.map((id) => client.get<CaseHeading>(`/api/v1/cases/${enc(id)}`).catch(() => undefined)));
  return new Map(caseIds.map((id, i) => [id, found[i]]));
}
