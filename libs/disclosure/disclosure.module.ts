import { Module } from '@nestjs/common';
import { BundleBuilder } from './bundle-builder.service.js';
import { DisclosureBundlesService } from './disclosure-bundles.service.js';
import { DisclosureSchedulesService } from './disclosure-schedules.service.js';

@Module({ providers: [DisclosureSchedulesService, BundleBuilder, DisclosureBundlesService], exports: [DisclosureSchedulesService, BundleBuilder, DisclosureBundlesService] })
export class DisclosureModule {}
