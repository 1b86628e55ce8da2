import assert from "node:assert/strict";
import { parseArgs } from "node:util";
import { FlagError, type FlagSpec, parseFlags } from "../io/flags.ts";
import { mulberry32, SEED } from "./seeded_random.ts";

/** Every kind of flag parseFlags knows, as cli.ts uses them. */
const SPECS = {
  count: { type: "string", short: "c" },
  write: { type: "string", short: "w" },
  l3: { type: "string" },
  tag: { type: "string", short: "t", multiple: true },
  json: { type: "boolean" },
  verbose: { type: "boolean", short: "v", multiple: true },
  hex: { type: "boolean", short: "x", multiple: true },
  help: { type: "boolean", short: "h" },
  x2: { type: "boolean" },
} as const satisfies Record<string, FlagSpec>;

/** Words a command line is made of: flags known and unknown, in every form, and values. */
const WORDS = [
  "--count",
  "--count=",
  "--count=5",
  "--count=-5",
  "-c",
  "-c5",
  "-c-5",
  "-vc5",
  "-vc",
  "-xvx",
  "-vq",
  "-q",
  "-h",
  "--help",
  "--help=1",
  "--json",
  "--json=",
  "--l3",
  "--l3=udp",
  "--tag",
  "-t",
  "-ta",
  "--tag=b",
  "--bogus",
  "--bogus=1",
  "--=x",
  "---",
  "--x2",
  "-w",
  "-w-",
  "--",
  "-",
  "",
  "5",
  "-5",
  "tcp",
  "port",
  "x2",
];

function nodeParse(args: string[], allowPositionals: boolean) {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: SPECS,
      strict: true,
      allowPositionals,
    });
    return { values: { ...values }, positionals };
  } catch (error) {
    return { error: String(error) };
  }
}

function ourParse(args: string[], allowPositionals: boolean) {
  try {
    const { values, positionals } = parseFlags(args, SPECS, allowPositionals);
    return { values: { ...values }, positionals };
  } catch (error) {
    if (!(error instanceof FlagError)) throw error;
    assert.doesNotMatch(error.message, /\n/);
    return { error: String(error) };
  }
}

Deno.test("parseFlags() agrees with parseArgs (strict) on generated command lines", () => {
  const random = mulberry32(SEED);
  for (let run = 0; run < 20_000; run++) {
    const length = Math.floor(random() * 6);
    const args = Array.from({ length }, () => WORDS[Math.floor(random() * WORDS.length)]!);
    const allowPositionals = random() < 0.8;
    const ours = ourParse(args, allowPositionals);
    const theirs = nodeParse(args, allowPositionals);
    const what = `seed ${SEED}, ${JSON.stringify(args)}, allowPositionals ${allowPositionals}: ` +
      `ours ${JSON.stringify(ours)}, parseArgs ${JSON.stringify(theirs)}`;
    assert.equal("error" in ours, "error" in theirs, what);
    if (!("error" in ours)) assert.deepEqual(ours, theirs, what);
  }
});

Deno.test("parseFlags() reads every form of a flag and keeps the order of positionals", () => {
  const { values, positionals } = parseFlags(
    ["tcp", "-vxc", "7", "--l3=udp", "-tA", "--tag", "B", "port", "--", "-v", "--json"],
    SPECS,
    true,
  );
  assert.deepEqual({ ...values }, {
    verbose: [true],
    hex: [true],
    count: "7",
    l3: "udp",
    tag: ["A", "B"],
  });
  assert.deepEqual(positionals, ["tcp", "port", "-v", "--json"]);
});

Deno.test("parseFlags() keeps the last value of a flag given twice", () => {
  assert.equal(parseFlags(["-c", "1", "--count=2", "-c3"], SPECS, false).values.count, "3");
});

Deno.test("parseFlags() explains each refusal in one line", () => {
  const cases: [string[], boolean, RegExp][] = [
    [["--bogus"], true, /^Unknown option --bogus$/],
    [["-vq"], true, /^Unknown option -q$/],
    [["-c"], true, /^Option -c, --count needs a value$/],
    [["--l3"], true, /^Option --l3 needs a value$/],
    [["--json=yes"], true, /^Option --json takes no value$/],
    [
      ["-c", "-5"],
      true,
      /^Option -c, --count needs a value: "-5" looks like an option; write --count=-5 or -c-5 to give it$/,
    ],
    [["tcp"], false, /^Unexpected argument "tcp": this command takes no positionals$/],
    [["--", "tcp"], false, /^Unexpected argument "tcp"/],
  ];
  for (const [args, allowPositionals, message] of cases) {
    assert.throws(() => parseFlags(args, SPECS, allowPositionals), (error: unknown) => {
      assert.ok(error instanceof FlagError);
      assert.match(error.message, message);
      return true;
    }, JSON.stringify(args));
  }
});
