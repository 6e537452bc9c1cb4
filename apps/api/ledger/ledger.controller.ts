import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { CaseAccessService, requireJustification } from '../../../libs/cases/index.js';
import { AppError } from '../../../libs/core/index.js';
import { LedgerService, type Justification } from '../../../libs/custody/index.js';
import type { Principal, RequestContext } from '../../../libs/identity/index.js';
import { Ctx, CurrentUser, JustificationHeader, JustificationHeaders, Public, Roles } from '../auth/request-context.js';
import { ApiZodBody } from '../validation.js';

const count = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const inclusionQuery = z.strictObject({ leafIndex: count, treeSize: count });
const consistencyQuery = z.strictObject({ from: count, to: count });
// One note signature line; a cosignature/v1 line is about 130 characters plus the witness's name.
const cosignatureBody = z.strictObject({ cosignature: z.string().min(1).max(1024) });

function treeSizeParam(treeSize: string): number {
  const n = Number(treeSize);
  if (!/^\d+$/.test(treeSize) || !Number.isSafeInteger(n)) throw new AppError('CHECKPOINT_NOT_FOUND', `No checkpoint was signed at tree size ${treeSize}`, 404);
  return n;
}

/** Anyone may check the log: checkpoints and proofs reveal hashes, never event contents. */
@ApiTags('ledger')
@Controller({ path: 'ledger', version: '1' })
export class LedgerController {
  constructor(@Inject(LedgerService) private readonly ledger: LedgerService) {}

  @Public()
  @Get('public-key')
  @ApiOperation({ summary: 'The verifier key (C2SP note format) that signs checkpoints, with its key id and origin' })
  publicKey() {
    return this.ledger.publicKey();
  }

  @Public()
  @Get('checkpoint')
  @ApiOperation({ summary: 'The latest signed checkpoint (tlog-checkpoint signed note, with the witnesses\' cosignatures received so far)' })
  async latest() {
    const cp = await this.ledger.latest();
    if (!cp) throw new AppError('CHECKPOINT_NOT_FOUND', 'No checkpoint has been signed yet', 404);
    return cp;
  }

  @Public()
  @Get('checkpoints/:treeSize')
  @ApiOperation({ summary: 'The checkpoint signed at a given tree size, with its cosignatures' })
  bySize(@Param('treeSize') treeSize: string) {
    return this.ledger.bySize(treeSizeParam(treeSize));
  }

  @Public()
  @Get('witnesses')
  @ApiOperation({ summary: 'The witnesses whose cosignatures this service accepts (C2SP cosignature/v1 verifier keys)' })
  witnesses() {
    return this.ledger.witnesses();
  }

  /**
   * A witness hands in its cosignature (C2SP tlog-cosignature) of the checkpoint at treeSize.
   * Public on purpose: a cosignature is self-authenticating. It is stored only if it verifies,
   * over this checkpoint, with one of the witness keys the service is configured with
   * (LEDGER_WITNESS_KEYS); a token would add nothing a forger could not already fail, and would
   * tie another organisation's witness to this service's accounts. What anyone can post is
   * bounded: one cosignature per configured witness and checkpoint, append-only.
   */
  @Public()
  @Post('checkpoints/:treeSize/cosignatures')
  @HttpCode(201)
  @ApiZodBody(cosignatureBody)
  @ApiOperation({ summary: 'Add a witness cosignature (a cosignature/v1 note signature line) to the checkpoint at treeSize; public, checked against LEDGER_WITNESS_KEYS' })
  cosign(@Param('treeSize') treeSize: string, @Body({ schema: cosignatureBody }) body: z.infer<typeof cosignatureBody>) {
    return this.ledger.addCosignature(treeSizeParam(treeSize), body.cosignature);
  }

  @Public()
  @Get('proofs/inclusion')
  @ApiOperation({ summary: 'RFC 9162 inclusion proof of the event at leafIndex in the tree of treeSize' })
  inclusion(@Query({ schema: inclusionQuery }) q: z.infer<typeof inclusionQuery>) {
    return this.ledger.inclusion(q.leafIndex, q.treeSize);
  }

  @Public()
  @Get('proofs/consistency')
  @ApiOperation({ summary: 'RFC 9162 consistency proof between tree sizes from and to' })
  consistency(@Query({ schema: consistencyQuery }) q: z.infer<typeof consistencyQuery>) {
    return this.ledger.consistency(q.from, q.to);
  }

  @ApiBearerAuth()
  @Roles('auditor', 'administrator')
  @Post('checkpoints')
  @HttpCode(201)
  @ApiOperation({ summary: 'Sign a checkpoint now (auditors, administrators)' })
  async publish() {
    return (await this.ledger.publishCheckpoint()) ?? { treeSize: 0 };
  }
}

@ApiTags('ledger')
@ApiBearerAuth()
@Controller({ path: 'cases/:caseId/events', version: '1' })
export class CaseEventsController {
  constructor(
    @Inject(LedgerService) private readonly ledger: LedgerService,
    @Inject(CaseAccessService) private readonly access: CaseAccessService,
  ) {}

  /**
   * Members get every event. A supervisor or auditor reading with a reason gets the events they may
   * see: those of OFFICIAL-SENSITIVE items (and other people's counted reads) are left out whole,
   * never redacted, so each event shown is exactly what was hashed and checks on its own (its
   * chain hash from its prevHash and canonical form; its inclusion by leafIndex from the public
   * proof routes). They do not get the export below, whose signed summary vouches for the complete chain.
   */
  @Get()
  @JustificationHeaders(true)
  @ApiOperation({ summary: "A case's custody events in ledger order, with their canonical form and chain hashes (readers outside the case: the events they may see); needs a justification" })
  async events(@CurrentUser() p: Principal, @Param('caseId') caseId: string, @JustificationHeader() j: Justification | undefined, @Ctx() ctx: RequestContext) {
    // The log names files, hashes and people: reading it is consulting evidence (s.62).
    requireJustification(j);
    const access = await this.access.resolve(p, caseId, 'case.read', { justification: j, context: ctx });
    return this.ledger.caseEvents(caseId, { principal: p, justification: j, context: ctx }, await this.access.eventFilter(access, p));
  }

  /**
   * The complete case log (members only): a filtered export could not be verified as the whole
   * chain, and an unfiltered one would hand OFFICIAL-SENSITIVE events to readers outside the case.
   */
  @Get('export')
  @JustificationHeaders(true)
  @ApiOperation({ summary: 'The case log with inclusion proofs against the latest scheduled checkpoint (pendingEvents: later events it does not cover yet), for offline checking (dems verify case-log); members of the case only; needs a justification; 409 CHECKPOINT_PENDING before the first checkpoint' })
  async export(@CurrentUser() p: Principal, @Param('caseId') caseId: string, @JustificationHeader() j: Justification | undefined, @Ctx() ctx: RequestContext) {
    requireJustification(j);
    await this.access.resolve(p, caseId, 'case.log.export', { justification: j, context: ctx });
    return this.ledger.exportCaseLog(caseId, { principal: p, justification: j, context: ctx });
  }
}
