import { AppError } from '../core/index.js';
import { one, rows, type Queryable } from '../database/sql.js';
import { CheckpointError, formatKeyId, parseCosignatureLine, splitNote, verifyCosignature, type WitnessKey } from '../ledger/index.js';

/** A witness's cosignature of a checkpoint, as stored and served. */
export interface CosignatureView {
  witness: string;
  /** The witness key's ID, 8 hex digits. */
  keyId: string;
  /** The witness's verifier key (C2SP vkey, type 0x04). */
  witnessKey: string;
  /** The time the witness signed at (the cosignature's own timestamp). */
  cosignedAt: Date;
  /** The note signature line, as appended to the checkpoint's note. */
  line: string;
  receivedAt: Date;
}

/** A witness clock this far ahead of ours is still believed; further is refused (the spec lets verifiers refuse future times). */
const MAX_CLOCK_AHEAD_SECONDS = 600;

/** The stored cosignatures of the checkpoints of the given sizes, each list in the order received. */
export async function cosignaturesAt(q: Queryable, sizes: number[]): Promise<Map<number, CosignatureView[]>> {
  const out = new Map<number, CosignatureView[]>(sizes.map((s) => [s, []]));
  if (!sizes.length) return out;
  const found = await rows(
    q,
    `SELECT tree_size, witness_key, witness_name, cosigned_at, line, received_at FROM ledger_cosignatures WHERE tree_size = ANY($1::bigint[]) ORDER BY received_at, witness_key`,
    [sizes.map(String)],
  );
  for (const r of found) out.get(Number(r.tree_size))?.push(toView(r));
  return out;
}

/**
 * Checks a cosignature line against the checkpoint signed at its size and the configured
 * witnesses, and stores it. One cosignature per witness and checkpoint is kept: the first
 * (a witness repeating itself, even with a later time, changes nothing and is told so).
 */
export async function storeCosignature(
  q: Queryable,
  checkpoint: { treeSize: number; note: string },
  line: string,
  witnesses: readonly WitnessKey[],
  now = Date.now(),
): Promise<{ created: boolean; cosignature: CosignatureView }> {
  let parsed;
  try {
    parsed = parseCosignatureLine(line);
  } catch (e) {
    throw new AppError('INVALID_COSIGNATURE', `Not a cosignature/v1 signature line (— <witness name> <base64 of key id, timestamp and signature>): ${(e as Error).message}`, 400);
  }
  const id = `${parsed.witness}+${formatKeyId(parsed.keyId)}`;
  const key = witnesses.find((k) => k.name === parsed.witness && k.keyId === parsed.keyId);
  if (!key) {
    throw new AppError('WITNESS_NOT_TRUSTED', `${id} is not one of the witnesses this service accepts (LEDGER_WITNESS_KEYS)`, 403, { witness: parsed.witness, keyId: formatKeyId(parsed.keyId) });
  }
  try {
    verifyCosignature(splitNote(checkpoint.note).text, parsed.line, key);
  } catch (e) {
    if (e instanceof CheckpointError && e.code === 'BAD_SIGNATURE') {
      throw new AppError(
        'COSIGNATURE_INVALID',
        `The cosignature by ${id} does not verify over the checkpoint signed at size ${checkpoint.treeSize}: it was made for another checkpoint of that size, or altered`,
        422,
        { witness: parsed.witness, treeSize: checkpoint.treeSize },
      );
    }
    throw e;
  }
  if (parsed.timestamp > Math.floor(now / 1000) + MAX_CLOCK_AHEAD_SECONDS) {
    throw new AppError('COSIGNATURE_FROM_THE_FUTURE', `The cosignature by ${id} is dated ${new Date(parsed.timestamp * 1000).toISOString()}, ahead of this service's clock: check the witness's clock`, 422);
  }
  const inserted = await one(
    q,
    `INSERT INTO ledger_cosignatures (tree_size, witness_key, witness_name, cosigned_at, line) VALUES ($1, $2, $3, to_timestamp($4), $5)
     ON CONFLICT (tree_size, witness_key) DO NOTHING RETURNING tree_size, witness_key, witness_name, cosigned_at, line, received_at`,
    [checkpoint.treeSize, key.verifierKey, key.name, parsed.timestamp, parsed.line],
  );
  if (inserted) return { created: true, cosignature: toView(inserted) };
  const existing = await one(q, `SELECT tree_size, witness_key, witness_name, cosigned_at, line, received_at FROM ledger_cosignatures WHERE tree_size = $1 AND witness_key = $2`, [
    checkpoint.treeSize,
    key.verifierKey,
  ]);
  return { created: false, cosignature: toView(existing!) };
}

function toView(r: Record<string, unknown>): CosignatureView {
  const key = r.witness_key as string;
  return {
    witness: r.witness_name as string,
    keyId: key.split('+')[1],
    witnessKey: key,
    cosignedAt: r.cosigned_at as Date,
    line: r.line as string,
    receivedAt: r.received_at as Date,
  };
}
