import { Controller, Get, Inject, Param, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { ApiPath } from '../../../libs/api-contract/index.js';
import { ApiError } from '../api-client.js';
import type { CaseEvent } from '../cases/custody-timeline.js';
import { Public } from '../signed-in.guard.js';
import { WebApi } from '../web-api.service.js';

/** The API's public ledger routes the check page reads, passed through byte for byte. */
const LEDGER_ROUTES = {
  'public-key': '/api/v1/ledger/public-key',
  checkpoint: '/api/v1/ledger/checkpoint',
  'proofs/inclusion': '/api/v1/ledger/proofs/inclusion',
} as const satisfies Record<string, ApiPath<'get'>>;

/**
 * Journey 8: check one custody event in the browser. The page hands the browser the event as the
 * API gave it; the browser's own code (assets/event-check.js, WebCrypto) recomputes its chain
 * hash, its Merkle leaf and the inclusion proof, and verifies the checkpoint's Ed25519 signature.
 * This server only relays the API's answers, so the check does not rest on its word.
 */
@Controller()
export class CustodyCheckController {
  constructor(@Inject(WebApi) private readonly api: WebApi) {}

  @Get('cases/:caseId/events/:leafIndex/check')
  async page(@Param('caseId') caseId: string, @Param('leafIndex') leafIndex: string, @Req() req: Request, @Res() res: Response) {
    const events = await this.api.as(req).get<CaseEvent[]>(`/api/v1/cases/${encodeURIComponent(caseId)}/events`, { justification: req.session.reasons?.[caseId] });
    const found = events.find((e) => String(e.event.leafIndex) === leafIndex);
    if (!found) throw new ApiError(404, 'EVENT_NOT_FOUND', 'This case has no custody event with that number that you can see');
    res.render('pages/custody/check', { caseId, event: found.event, eventJson: JSON.stringify(found.event), hash: found.hash });
  }

  @Public()
  @Get('ledger/public-key')
  publicKey(@Req() req: Request, @Res() res: Response) {
    return this.relay(LEDGER_ROUTES['public-key'], req, res);
  }

  @Public()
  @Get('ledger/checkpoint')
  checkpoint(@Req() req: Request, @Res() res: Response) {
    return this.relay(LEDGER_ROUTES.checkpoint, req, res);
  }

  @Public()
  @Get('ledger/proofs/inclusion')
  inclusion(@Req() req: Request, @Res() res: Response) {
    const query = { leafIndex: String(req.query.leafIndex ?? ''), treeSize: String(req.query.treeSize ?? '') };
    return this.relay(LEDGER_ROUTES['proofs/inclusion'], req, res, query);
  }

  private async relay(path: ApiPath<'get'>, req: Request, res: Response, query?: Record<string, string>) {
    const answer = await this.api.as(req).raw(path, query);
    res.status(answer.status).type(answer.contentType).send(answer.body);
  }
}
