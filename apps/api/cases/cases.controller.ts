import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  CasesService,
  createCaseSchema,
  createExhibitSchema,
  ExhibitsService,
  listCasesSchema,
  memberSchema,
  updateCaseSchema,
  updateExhibitSchema,
  type CaseRole,
  type CreateCaseInput,
  type CreateExhibitInput,
  type ListCasesQuery,
  type UpdateCaseInput,
  type UpdateExhibitInput,
} from '../../../libs/cases/index.js';
import type { Justification } from '../../../libs/custody/index.js';
import type { Principal, RequestContext } from '../../../libs/identity/index.js';
import { Ctx, CurrentUser, JustificationHeader, JustificationHeaders } from '../auth/request-context.js';
import { ApiZodBody } from '../validation.js';

@ApiTags('cases')
@ApiBearerAuth()
@Controller({ path: 'cases', version: '1' })
export class CasesController {
  constructor(@Inject(CasesService) private readonly cases: CasesService) {}

  @Post()
  @ApiOperation({ summary: 'Open a case (investigators, supervisors); the opener becomes officer in the case' })
  @ApiZodBody(createCaseSchema)
  create(@CurrentUser() p: Principal, @Body({ schema: createCaseSchema }) body: CreateCaseInput, @Ctx() ctx: RequestContext) {
    return this.cases.create(p, body, ctx);
  }

  @Get()
  @ApiOperation({ summary: 'Cases I am a member of: filters urn, status, q (text), createdFrom/To; sort, order, limit, cursor' })
  list(@CurrentUser() p: Principal, @Query({ schema: listCasesSchema }) query: ListCasesQuery, @Ctx() ctx: RequestContext) {
    return this.cases.list(p, query, ctx);
  }

  @Get(':caseId')
  @JustificationHeaders(false)
  @ApiOperation({ summary: 'One case (members; supervisors and auditors with a justification)' })
  get(@CurrentUser() p: Principal, @Param('caseId') caseId: string, @JustificationHeader() j: Justification | undefined, @Ctx() ctx: RequestContext) {
    return this.cases.get(p, caseId, j, ctx);
  }

  @Patch(':caseId')
  @ApiOperation({ summary: 'Change a case (officer in the case)' })
  @ApiZodBody(updateCaseSchema)
  update(@CurrentUser() p: Principal, @Param('caseId') caseId: string, @Body({ schema: updateCaseSchema }) body: UpdateCaseInput, @Ctx() ctx: RequestContext) {
    return this.cases.update(p, caseId, body, ctx);
  }

  @Get(':caseId/members')
  @JustificationHeaders(true)
  @ApiOperation({ summary: 'Members of a case and their roles on it (a justification is required: the consultation is logged)' })
  members(@CurrentUser() p: Principal, @Param('caseId') caseId: string, @JustificationHeader() j: Justification | undefined, @Ctx() ctx: RequestContext) {
    return this.cases.members(p, caseId, j, ctx);
  }

  @Put(':caseId/members/:userId')
  @ApiOperation({ summary: 'Add a member or change their role on the case (officer in the case)' })
  @ApiZodBody(memberSchema)
  setMember(
    @CurrentUser() p: Principal,
    @Param('caseId') caseId: string,
    @Param('userId') userId: string,
    @Body({ schema: memberSchema }) body: { caseRole: CaseRole },
    @Ctx() ctx: RequestContext,
  ) {
    return this.cases.setMember(p, caseId, userId, body.caseRole, ctx);
  }

  @Delete(':caseId/members/:userId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove a member (officer in the case)' })
  async removeMember(@CurrentUser() p: Principal, @Param('caseId') caseId: string, @Param('userId') userId: string, @Ctx() ctx: RequestContext) {
    await this.cases.removeMember(p, caseId, userId, ctx);
  }
}

@ApiTags('exhibits')
@ApiBearerAuth()
@Controller({ path: 'cases/:caseId/exhibits', version: '1' })
export class ExhibitsController {
  constructor(@Inject(ExhibitsService) private readonly exhibits: ExhibitsService) {}

  @Post()
  @ApiOperation({ summary: 'Declare an exhibit (officer in the case, investigators, forensic analysts on the case)' })
  @ApiZodBody(createExhibitSchema)
  create(@CurrentUser() p: Principal, @Param('caseId') caseId: string, @Body({ schema: createExhibitSchema }) body: CreateExhibitInput, @Ctx() ctx: RequestContext) {
    return this.exhibits.create(p, caseId, body, ctx);
  }

  @Get()
  @JustificationHeaders(false)
  @ApiOperation({ summary: 'Exhibits of a case (a justification is required: consulting evidence is logged)' })
  list(@CurrentUser() p: Principal, @Param('caseId') caseId: string, @JustificationHeader() j: Justification | undefined, @Ctx() ctx: RequestContext) {
    return this.exhibits.list(p, caseId, j, ctx);
  }

  @Get(':exhibitId')
  @JustificationHeaders(false)
  @ApiOperation({ summary: 'One exhibit (a justification is required)' })
  get(
    @CurrentUser() p: Principal,
    @Param('caseId') caseId: string,
    @Param('exhibitId') exhibitId: string,
    @JustificationHeader() j: Justification | undefined,
    @Ctx() ctx: RequestContext,
  ) {
    return this.exhibits.get(p, caseId, exhibitId, j, ctx);
  }

  @Patch(':exhibitId')
  @ApiOperation({ summary: 'Change an exhibit; used/unused and sensitivity: officer in the case or disclosure officer' })
  @ApiZodBody(updateExhibitSchema)
  update(
    @CurrentUser() p: Principal,
    @Param('caseId') caseId: string,
    @Param('exhibitId') exhibitId: string,
    @Body({ schema: updateExhibitSchema }) body: UpdateExhibitInput,
    @Ctx() ctx: RequestContext,
  ) {
    return this.exhibits.update(p, caseId, exhibitId, body, ctx);
  }
}
