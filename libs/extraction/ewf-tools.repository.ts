/**
 * The one file that spawns ewf-tools (ewfinfo, ewfverify; ewfacquire only in tests). Everything
 * that decides what to run or what the output means is pure and lives beside it.
 *
 * ewfverify gets a time limit. On expiry it is sent SIGINT first, because that is its graceful
 * stop (it prints `ewfverify: ABORTED`, while SIGTERM kills it with no summary), then SIGKILL to
 * the whole process group after a grace period; the child is always waited for (no zombie).
 */
import { spawn } from 'node:child_process';
import { EXTRACTION_ERRORS, extractionError } from './extraction-errors.js';
import type { ToolRun } from './extraction.types.js';

export interface EwfToolsSettings {
  ewfinfoPath: string;
  ewfverifyPath: string;
  /** Between SIGINT and SIGKILL when a tool must be stopped. */
  killGraceMs: number;
}

export const DEFAULT_EWF_TOOLS_SETTINGS: EwfToolsSettings = { ewfinfoPath: 'ewfinfo', ewfverifyPath: 'ewfverify', killGraceMs: 3000 };

export interface EwfToolRunOptions {
  timeLimitMs: number;
  signal?: AbortSignal;
  onStdout?: (text: string) => void;
  /** Called with the process id once spawned (tests check the process is gone afterwards). */
  onSpawn?: (pid: number) => void;
}

export interface EwfToolOutput {
  run: ToolRun;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  aborted: boolean;
}

const MAX_STDOUT = 4 * 1024 * 1024;
const MAX_STDERR = 256 * 1024;

export class EwfToolsRepository {
  private readonly versions = new Map<string, string>();

  constructor(private readonly settings: EwfToolsSettings = DEFAULT_EWF_TOOLS_SETTINGS) {}

  /** `ewfinfo -d iso8601 <segments…>` (text output; dfxml is never asked for). */
  ewfinfo(segmentPaths: string[], options: EwfToolRunOptions): Promise<EwfToolOutput> {
    return this.run('ewfinfo', this.settings.ewfinfoPath, ['-d', 'iso8601', ...segmentPaths], options);
  }

  /**
   * `ewfverify -d sha1,sha256 <segments…>`: always the explicit list of segments the service has
   * checked (never a glob by ewfverify); SHA-1 so a stored SHA-1 is verified, SHA-256 as the
   * service's fingerprint of the acquired media. Without -q, so progress reaches onStdout.
   */
  ewfverify(segmentPaths: string[], options: EwfToolRunOptions): Promise<EwfToolOutput> {
    return this.run('ewfverify', this.settings.ewfverifyPath, ['-d', 'sha1,sha256', ...segmentPaths], options);
  }

  /** The tool's version as it prints it (`ewfverify 20140813`), asked once per process. */
  async version(tool: 'ewfinfo' | 'ewfverify'): Promise<string> {
    const known = this.versions.get(tool);
    if (known) return known;
    const path = tool === 'ewfinfo' ? this.settings.ewfinfoPath : this.settings.ewfverifyPath;
    const out = await this.run(tool, path, ['-V'], { timeLimitMs: 10_000 });
    const m = new RegExp(`^${tool} (\\S+)`, 'm').exec(out.stdout);
    const v = m ? m[1] : 'unknown';
    this.versions.set(tool, v);
    return v;
  }

  private run(tool: string, path: string, args: string[], options: EwfToolRunOptions): Promise<EwfToolOutput> {
    const started = Date.now();
    return new Promise((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      let aborted = false;
      let killTimer: NodeJS.Timeout | undefined;
      const child = spawn(path, args, {
        detached: true, // its own process group, so the kill reaches it whatever it started
        stdio: ['ignore', 'pipe', 'pipe'],
        // A fixed environment: no locale or user setting changes what the parsers read.
        env: { PATH: '/usr/local/bin:/usr/bin:/bin', LC_ALL: 'C' },
      });
      const stop = () => {
        if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
        signalGroup(child.pid, 'SIGINT');
        killTimer ??= setTimeout(() => child.pid && signalGroup(child.pid, 'SIGKILL'), this.settings.killGraceMs);
      };
      const limit = setTimeout(() => {
        timedOut = true;
        stop();
      }, options.timeLimitMs);
      const onAbort = () => {
        aborted = true;
        stop();
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (options.signal?.aborted) onAbort();
      child.stdout.setEncoding('latin1');
      child.stderr.setEncoding('latin1');
      child.stdout.on('data', (t: string) => {
        if (stdout.length < MAX_STDOUT) stdout += t;
        options.onStdout?.(t);
      });
      child.stderr.on('data', (t: string) => {
        stderr = (stderr + t).slice(-MAX_STDERR);
      });
      if (child.pid) options.onSpawn?.(child.pid);
      const finish = () => {
        clearTimeout(limit);
        clearTimeout(killTimer);
        options.signal?.removeEventListener('abort', onAbort);
      };
      child.on('error', (e: NodeJS.ErrnoException) => {
        finish();
        if (e.code === 'ENOENT') {
          reject(extractionError(EXTRACTION_ERRORS.TOOL_MISSING, `${tool} is not installed (Debian package ewf-tools)`, 503, { tool, path }));
        } else reject(e);
      });
      child.on('close', (code, signal) => {
        finish();
        resolve({
          run: { tool, version: this.versions.get(tool) ?? '', args, exitCode: code, signal, durationMs: Date.now() - started },
          stdout,
          stderr,
          timedOut,
          aborted,
        });
      });
    });
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}
