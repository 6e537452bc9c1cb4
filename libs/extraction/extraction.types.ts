/**
 * The typed results libs/extraction hands to its callers (the extraction job, the API, the CLI).
 * Plain data only: every value here can be stored as JSON or in PostgreSQL columns as it is.
 */

/** What a file is, decided from its bytes (never from its name). */
export type ContainerKind =
  | 'ewf' // EnCase 1-6 / EWF-E01 segment (EVF 09 0D 0A FF 00)
  | 'ewf2' // EnCase 7+ Ex01 (EVF2 0D 0A 81 00): recognised, not verifiable on Debian 12
  | 'ufdr' // ZIP with report.xml whose root is `project` in the Cellebrite report 2.0 namespace
  | 'zip' // any other ZIP (GrayKey, generic exports)
  | 'ufd' // Cellebrite UFD INI
  | 'empty' // zero bytes
  | 'opaque'; // XRY, AXIOM, anything else: hashed and stored, never called verified

export interface EwfSegmentFacts {
  /** Segment number from the segment file header (1 = .E01, 100 = .EAA). */
  segmentNumber: number;
  /**
   * Set identifier from the volume/data section (bytes 64-79 of its body), printed the way
   * ewfinfo prints it. ewfacquire 20140813 writes all zeros, so a zero GUID proves nothing.
   */
  setIdentifier: string;
  setIdentifierIsZero: boolean;
  /** Geometry from the volume (E01) or data (E02…) section: identical in every segment of one set. */
  chunkCount?: number;
  sectorsPerChunk?: number;
  bytesPerSector?: number;
  sectorCount?: number;
  /** Chunks this segment holds (sum of its `table` sections). */
  chunksInSegment: number;
  /** How the section chain ends: `done` (last segment), `next` (more follow) or not at all (cut short). */
  ends: 'done' | 'next' | 'truncated';
  /** Section types in file order, for the record. */
  sections: string[];
}

export interface Recognition {
  kind: ContainerKind;
  /** A sentence for a person: what the file was recognised as and why. */
  description: string;
  size: number;
  /** Present for kind `ewf`. */
  ewf?: EwfSegmentFacts;
  /** Present for kind `ewf2`: the reason it is not verified here. */
  notVerifiableReason?: string;
  /** For `ufdr`: the report entry's name in the ZIP. */
  reportEntry?: string;
}

/** One file of an exhibit, as the caller knows it (its id, its name as uploaded) plus what we recognised. */
export interface ExhibitFile {
  fileId: string;
  name: string;
  size: number;
  sha256?: string;
  recognition: Recognition;
}

export interface EwfSetMember {
  fileId: string;
  name: string;
  segmentNumber: number;
}

export type ExtractionSet =
  | {
      kind: 'ewf';
      /** Stable key of the set within the exhibit (set identifier and geometry). */
      setKey: string;
      setIdentifier: string;
      /** Segments in order, each number once. */
      segments: EwfSetMember[];
      /** Numbers missing between 1 and the highest present (and "more after N" via `tailMissing`). */
      missingSegments: number[];
      /** The highest segment present does not end the set (its chain ends in `next`, or is cut). */
      tailMissing: boolean;
      complete: boolean;
      /** Files that are byte-identical copies of a member (same segment number, same SHA-256). */
      duplicates: { fileId: string; name: string; duplicateOf: string }[];
      /** Same set, same segment number, different bytes: the set cannot be assembled. */
      conflicts: { segmentNumber: number; fileIds: string[] }[];
      problems: string[];
    }
  | { kind: 'ewf2'; fileIds: string[]; reason: string }
  | { kind: 'ufdr' | 'zip' | 'ufd' | 'opaque' | 'empty'; fileIds: string[] };

/** One finding: a warning (verified with warnings) or a problem (failed). */
export interface ExtractionFinding {
  /** Stable code (tests and clients match on it). */
  code: string;
  /** For a person. */
  message: string;
  /** The entry or file it concerns, when there is one. */
  path?: string;
  details?: Record<string, unknown>;
}

export type OutcomeStatus = 'verified' | 'verified_with_warnings' | 'failed' | 'not_verifiable';

export interface ExtractionOutcome {
  status: OutcomeStatus;
  /** For failed and not_verifiable: the main code (first problem) and a sentence saying why. */
  code?: string;
  reason?: string;
  warnings: ExtractionFinding[];
  problems: ExtractionFinding[];
}

/** The tool that gave a verdict and how it was called, so someone else can repeat it. */
export interface ToolRun {
  tool: string;
  version: string;
  args: string[];
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
}

export interface EwfHeaderFacts {
  caseNumber?: string;
  evidenceNumber?: string;
  description?: string;
  examiner?: string;
  notes?: string;
  /** As ewfinfo -d iso8601 prints it: the acquiring machine's local time, no zone. */
  acquisitionDate?: string;
  systemDate?: string;
  operatingSystem?: string;
  /** The acquisition software's version as stored in the header ("Software version used"). */
  acquisitionSoftwareVersion?: string;
  /** e.g. "EnCase 6": the format the acquiring tool wrote. */
  fileFormat?: string;
  model?: string;
  serialNumber?: string;
  setIdentifier?: string;
  mediaType?: string;
  isPhysical?: boolean;
  bytesPerSector?: number;
  numberOfSectors?: number;
  mediaSizeBytes?: number;
  sectorsPerChunk?: number;
  compressionMethod?: string;
  /** Hashes the header stores (not verified by ewfinfo). */
  storedMd5?: string;
  storedSha1?: string;
  /** Every line, raw, by section, so nothing ewfinfo said is lost. */
  fields: { section: string; key: string; value: string }[];
}

export interface EwfHashComparison {
  algorithm: 'md5' | 'sha1' | 'sha256';
  /** Absent when the image stores none (ewfverify prints N/A). */
  stored?: string;
  calculated?: string;
  matches?: boolean;
}

export interface EwfVerification {
  outcome: ExtractionOutcome;
  header?: EwfHeaderFacts;
  hashes: EwfHashComparison[];
  /** Media bytes ewfverify read. */
  bytesRead?: number;
  /** Sector ranges that failed their chunk checksum, as ewfverify lists them. */
  sectorErrors: { firstSector: number; lastSector: number; count: number; segmentFiles: string[] }[];
  /** Segment files in the order they were passed to ewfverify, by the caller's ids. */
  segments: EwfSetMember[];
  runs: ToolRun[];
}

/** Flags an inventory entry can carry. Each is explained in docs/extraction.md. */
export type EntryFlag =
  | 'path_traversal'
  | 'absolute_path'
  | 'unsafe_name'
  | 'symlink'
  | 'encrypted'
  | 'unsupported_method'
  | 'duplicate_name'
  | 'bomb_suspected'
  | 'over_limit'
  | 'crc_mismatch'
  | 'size_mismatch'
  | 'data_corrupt'
  | 'local_header_mismatch'
  | 'unicode_path_override'
  | 'report_hash_mismatch';

export type EntryStatus = 'ok' | 'crc_mismatch' | 'size_mismatch' | 'corrupt' | 'not_checked';

export interface InventoryEntry {
  /** Position in the central directory (0-based): the one unambiguous handle on an entry. */
  index: number;
  /** The name as stored, decoded (UTF-8 flag, Unicode path field, else CP437); never a filesystem path. */
  path: string;
  isDirectory: boolean;
  /** Uncompressed size as declared in the central directory. */
  size: number;
  compressedSize: number;
  compressionMethod: number;
  /** From the extended timestamp field (UTC, ends in Z) or the DOS time (no zone), when present. */
  modifiedAt?: string;
  crc32: string;
  /** null when the bytes could not be checked (encrypted, unsupported method, over a limit). */
  crcOk: boolean | null;
  sha256?: string;
  md5?: string;
  status: EntryStatus;
  flags: EntryFlag[];
  /** From the UFDR report, when it lists this entry. */
  tagged?: boolean;
  deleted?: boolean;
  devicePath?: string;
}
