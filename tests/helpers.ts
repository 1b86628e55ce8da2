/**
 * Small helpers shared by the tests.
 *
 * @module
 */

import assert from "node:assert/strict";

/** The path of a file: URL (what @std/path's fromFileUrl does, for POSIX paths). */
export function fromFileUrl(url: URL): string {
  return decodeURIComponent(url.pathname);
}

/** The project's root folder. */
export const ROOT: string = fromFileUrl(new URL("../", import.meta.url));

/** The path of a fixture in tests/testdata. */
export function fixture(name: string): string {
  return fromFileUrl(new URL(`testdata/${name}`, import.meta.url));
}

/** Runs a command and collects its exit code and text output. */
export async function run(
  command: string,
  args: string[],
  options: { stdin?: Uint8Array; env?: Record<string, string>; cwd?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(command, {
    args,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  }).spawn();
  // Collect the output while stdin is written, or both pipes can fill and wait on each other.
  const collecting = child.output();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(options.stdin);
    await writer.close();
  }
  const output = await collecting;
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** Runs `deno run -q PERMISSIONS cli.ts ARGS` with this test's own Deno. */
export function runCli(
  permissions: string[],
  args: string[],
  options: { stdin?: Uint8Array; env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(Deno.execPath(), ["run", "-q", ...permissions, `${ROOT}cli.ts`, ...args], options);
}

/** Whether a program can be found on PATH. */
export function haveProgram(name: string): boolean {
  try {
    return new Deno.Command("sh", {
      args: ["-c", `command -v ${name}`],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
}

/** Asserts one line on stderr, starting "snout: " and matching `pattern`, and no stack trace. */
export function assertSnoutError(stderr: string, pattern: RegExp): void {
  const lines = stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0]!, /^snout: [A-Z]/);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(stderr, /\bat .*\.ts:\d+/);
}

/**
 * Whether user nobody can run this Deno and read cli.ts: not where the Deno lives under /root, or
 * the checkout is in a folder only root may enter (as `mktemp -d` makes). Tests that run snout as
 * nobody skip with a message then.
 */
export function nobodyCanRunCli(): boolean {
  if (!haveProgram("setpriv")) return false;
  const check = new Deno.Command("setpriv", {
    args: [
      "--reuid=nobody",
      "--regid=nogroup",
      "--clear-groups",
      "sh",
      "-c",
      'test -x "$0" && test -r "$1"',
      Deno.execPath(),
      `${ROOT}cli.ts`,
    ],
    stdout: "null",
    stderr: "null",
  }).outputSync();
  return check.success;
}
