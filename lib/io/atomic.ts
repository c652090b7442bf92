/**
 * Crash-safe writes: data goes to a temporary sibling first and is renamed into place, so a reader sees the
 * old content or the new, never half of either. Same directory as the target so the rename never crosses
 * file systems (where it would stop being atomic).
 */
import {
  chmodSync,
  closeSync,
  cpSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "fs";
import { basename, dirname, join, resolve } from "path";

function writeAndSync(path: string, data: Uint8Array | string): void {
  const fd = openSync(path, "w");
  try {
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    let done = 0;
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
    fsyncSync(fd); // the bytes must be on disk before the rename makes them visible
  } finally {
    closeSync(fd);
  }
}

/** Writes `data` to `path` through a temporary file in the same directory and a rename. */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const target = resolve(path);
  const tmpDir = mkdtempSync(join(dirname(target), `.${basename(target)}.tmp-`));
  try {
    const tmpFile = join(tmpDir, basename(target));
    writeAndSync(tmpFile, data);
    renameSync(tmpFile, target);
  } finally {
    rmSync(tmpDir, { recursive: true, force: true });
  }
}

/**
 * Replaces directory `dir` with one that `fill(tmpDir)` writes. Files in an existing `dir` that `fill` does
 * not write (a README, say) are carried over. If `fill` throws, `dir` is untouched and the temporary
 * directory removed. The swap is two renames: after a crash between them the previous version is complete
 * under `<dir>.old-*`; after a crash before them, `dir` is intact and a stray `<dir>.tmp-*` is left.
 */
export function replaceDirAtomic(dir: string, fill: (tmpDir: string) => void): void {
  const target = resolve(dir);
  const parent = dirname(target);
  const name = basename(target);
  mkdirSync(parent, { recursive: true });
  const tmp = mkdtempSync(join(parent, `.${name}.tmp-`));
  try {
    // mkdtemp makes the directory private (0700); give it the old one's mode, or an ordinary 0755.
    chmodSync(tmp, existsSync(target) ? statSync(target).mode & 0o7777 : 0o755);
    fill(tmp);
    if (existsSync(target)) {
      const written = new Set(readdirSync(tmp));
      for (const entry of readdirSync(target)) {
        if (!written.has(entry)) cpSync(join(target, entry), join(tmp, entry), { recursive: true });
      }
    }
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  const old = existsSync(target) ? join(parent, `.${name}.old-${process.pid}-${Date.now()}`) : null;
  if (old !== null) renameSync(target, old);
  renameSync(tmp, target);
  if (old !== null) rmSync(old, { recursive: true, force: true });
}

/** Writes a file inside a directory being filled by {@link replaceDirAtomic}, synced to disk. */
export function writeFileSynced(path: string, data: Uint8Array | string): void {
  writeAndSync(path, data);
}
