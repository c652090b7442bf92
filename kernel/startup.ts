import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/**
 * User startup files, like IPython's `profile_default/startup/*.py`: every `.ts`/`.js` file of one folder runs in
 * name order after the library is loaded, before the first cell. The folder is `--startup-dir DIR`, else
 * `$LLAMALAB_STARTUP_DIR`, else `~/.llamalab/startup`. Nothing from the notebook's own folder runs automatically.
 */

/** The environment variable naming the startup folder. */
export const STARTUP_DIR_ENV = "LLAMALAB_STARTUP_DIR";

/** The startup folder to use: the explicit one, else the environment's, else the per-user default. */
export function startupDir(explicit?: string): string {
  return explicit ?? process.env[STARTUP_DIR_ENV] ?? path.join(os.homedir(), ".llamalab", "startup");
}

/** A startup file and its source. */
export interface StartupFile {
  path: string;
  source: string;
}

/** The startup files of `dir` in name order (none when the folder does not exist). */
export function startupFiles(dir: string): StartupFile[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir)
    .filter((name) => /\.(ts|js)$/.test(name) && !name.startsWith("."))
    .sort()
    .map((name) => path.join(dir, name))
    .filter((file) => fs.statSync(file).isFile())
    .map((file) => ({ path: file, source: fs.readFileSync(file, "utf8") }));
}
