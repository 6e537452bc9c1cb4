import type { INestApplicationContext } from '@nestjs/common';

/** Runs start-up checks (schema current, buckets present); on failure releases what was opened. */
export async function initOrClose<T extends INestApplicationContext>(app: T): Promise<T> {
  try {
    await app.init();
    return app;
  } catch (e) {
    await app.close().catch(() => undefined);
    throw e;
  }
}
