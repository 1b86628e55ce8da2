/**
 * Conformance with tshark over the tcpdump project's test captures in ../shared/captures (when
 * that folder exists beside the project): field by field through
 * ../shared/conformance/compare.py, and every capture, malformed ones included, through every
 * output mode of the CLI without a crash.
 */

import assert from "node:assert/strict";
import { fromFileUrl, run, runCli } from "./helpers.ts";

const SHARED = new URL("../../shared/", import.meta.url);
const CAPTURES = new URL("captures/", SHARED);
const COMPARE = new URL("conformance/compare.py", SHARED);
const CLI = new URL("../cli.ts", import.meta.url);

/**
 * Differences from tshark that snout keeps on purpose, as "file#frame field[i]" with the reason.
 * compare.py --verbose names each difference that way; any difference not listed here fails.
 */
const DELIBERATE: Record<string, string> = {};

function exists(url: URL): boolean {
  try {
    Deno.statSync(url);
    return true;
  } catch {
    return false;
  }
}

function hasPython(): boolean {
  try {
    return new Deno.Command("python3", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

const haveCaptures = exists(CAPTURES) && exists(COMPARE);
const havePython = haveCaptures && hasPython();
if (!haveCaptures) {
  console.log("conformance: ../shared/captures is not beside the project; skipping its tests");
} else if (!havePython) {
  console.log("conformance: python3 is not installed; skipping compare.py");
}

function captureFiles(): string[] {
  const names: string[] = [];
  for (const entry of Deno.readDirSync(CAPTURES)) {
    if (/\.pcap(ng)?$/.test(entry.name)) names.push(fromFileUrl(new URL(entry.name, CAPTURES)));
  }
  return names.sort();
}

Deno.test({
  name: "compare.py finds every tshark field in snout's --json output, bar the named exceptions",
  ignore: !havePython,
  async fn() {
    const cmd = `${Deno.execPath()} run -q --allow-read ${fromFileUrl(CLI)} -r {file} --json`;
    const result = await run("python3", [
      fromFileUrl(COMPARE),
      "--verbose",
      "--cmd",
      cmd,
      ...captureFiles(),
    ]);
    const lines = result.stdout.trim().split("\n");
    const total = lines.at(-1) ?? "";
    assert.match(total, /^conformance: /, result.stdout + result.stderr);
    const differences = lines
      .filter((line) => line.startsWith("  "))
      .map((line) => line.trim());
    const unexplained = differences.filter((line) => {
      const key = line.split(":")[0]!;
      return DELIBERATE[key] === undefined;
    });
    assert.deepEqual(unexplained, [], total);
    if (Object.keys(DELIBERATE).length === 0) assert.match(total, /\(100\.00%\)/);
  },
});

const MODES: readonly (readonly string[])[] = [["--json"], [], ["-v"], ["-x"], ["-v", "-xx"]];

Deno.test({
  name: "cli.ts prints every shared capture, malformed ones included, in every mode",
  ignore: !haveCaptures,
  async fn() {
    for (const file of captureFiles()) {
      const frames = JSON.parse(await Deno.readTextFile(`${file}.tshark.json`)).length;
      for (const mode of MODES) {
        const result = await runCli(["--allow-read"], ["-r", file, ...mode]);
        const where = `${file} ${mode.join(" ")}`;
        assert.equal(result.code, 0, `${where}: ${result.stderr}`);
        assert.equal(result.stderr, "", where);
        assert.ok(!result.stdout.includes("\x1b"), `${where}: escape code in output`);
        if (mode.length <= 1 && mode[0] !== "-v" && mode[0] !== "-x") {
          assert.equal(result.stdout.trimEnd().split("\n").length, frames, where);
        }
      }
    }
  },
});
