import * as path from "path";
import { startKernel } from "./main";

const USAGE = `Usage:
  llamalab kernel --config-path FILE [--no-preload] [--startup-dir DIR]   start the Jupyter kernel (Jupyter runs this)
  llamalab run NOTEBOOK [-p name=value ...] [-o OUT.ipynb] [--html OUT.html] [--manifest FILE] [--timeout SECONDS] [--no-preload]
                                                    execute a notebook headless (no Jupyter needed)
  llamalab install [--user | --prefix DIR | --jupyter-path DIR]   register the kernelspec`;

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Entry point of the `llamalab` command. */
export function main(argv: string[]): void {
  const [command, ...rest] = argv;
  if (command === "help" || argv.includes("--help") || argv.includes("-h")) {
    console.log(USAGE);
  } else if (command === "kernel") {
    const configPath = option(rest, "--config-path");
    if (!configPath) {
      console.error(`llamalab kernel: --config-path FILE is required (Jupyter passes its connection file).\n${USAGE}`);
      process.exit(2);
    }
    startKernel({ configPath, preload: !rest.includes("--no-preload"), startupDir: option(rest, "--startup-dir") });
  } else if (command === "run") {
    // Loaded lazily: the kernel process does not need the runner.
    require("./runner").runCommand(rest).then((code: number) => process.exit(code), (err: Error) => {
      console.error(`llamalab run: ${err.message}`);
      process.exit(2);
    });
  } else if (command === "install") {
    require(path.resolve(__dirname, "..", "..", "install.js")).main(rest);
  } else {
    console.error(command ? `llamalab: unknown command '${command}'.\n${USAGE}` : USAGE);
    process.exit(command ? 2 : 0);
  }
}
