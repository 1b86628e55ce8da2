/**
 * The filter compiler: a pcap-filter expression, as tcpdump takes it, to a verified classic BPF
 * program for one link type.
 *
 * @module
 */

import { BPF_K, BPF_MAXINSNS, BPF_RET, type BpfProgram, stmt } from "./bpf.ts";
import { close, returnNode } from "./cfg.ts";
import { linearize } from "./layout.ts";
import { simplify } from "./simplify.ts";
import { canFilterLinkType, Generator, type GeneratorOptions } from "./codegen.ts";
import { FilterError } from "./filter_error.ts";
import { parseFilter } from "./parser.ts";
import { verifyProgram } from "./verify.ts";
import { linkTypeName } from "../parsers/link_type.ts";

/** What an accepted packet's filter returns: tcpdump's default snapshot length. */
export const DEFAULT_ACCEPT_LENGTH = 262144;

/** Options of {@linkcode compileFilter}. */
export interface CompileOptions extends GeneratorOptions {
  /** The value the program returns for an accepted packet (default 262144, as tcpdump's). */
  snapLength?: number;
}

const PREFIX = "Cannot compile filter";

/**
 * Compiles a filter expression in tcpdump's language (pcap-filter(7)) to a classic BPF program
 * for frames of `linkType` (a LINKTYPE_ value: Ethernet 1, SLL 113, SLL2 276, raw IP 101, 12 and
 * 14, IPv4 228, IPv6 229, NULL 0, LOOP 108). The program is verified before it is returned. An
 * empty expression accepts every packet.
 *
 * @throws {FilterError} "Cannot compile filter: expected a port number after "port" at column
 *   12": for a syntax error, with the column of the token; for an expression tcpdump refuses on
 *   this link type (`ether host` on raw IP); for one that rejects every packet; or for a link
 *   type snout cannot filter.
 *
 * @example Compile and run a filter
 * ```ts
 * import { compileFilter } from "./compile.ts";
 * import { runFilter } from "./interpret.ts";
 * import assert from "node:assert/strict";
 * const program = compileFilter("tcp port 80", 1);
 * assert.ok(program.length === 20);
 * assert.ok(runFilter(program, new Uint8Array(60)) === 0);
 * ```
 */
export function compileFilter(
  expression: string,
  linkType: number,
  options: CompileOptions = {},
): BpfProgram {
  if (!canFilterLinkType(linkType)) {
    throw new FilterError(PREFIX, `link type ${linkTypeName(linkType)} is not supported`);
  }
  const accept = options.snapLength ?? DEFAULT_ACCEPT_LENGTH;
  const tree = parseFilter(expression);
  if (tree === undefined) return [stmt(BPF_RET | BPF_K, accept)];
  const fragment = new Generator(linkType, options).generate(tree);
  const reject = returnNode(0);
  const root = simplify(close(fragment, returnNode(accept), reject));
  if (root === reject) {
    throw new FilterError(
      PREFIX,
      `the expression rejects every packet of link type ${linkTypeName(linkType)}`,
    );
  }
  const program = linearize(root);
  if (program.length > BPF_MAXINSNS) {
    throw new FilterError(
      PREFIX,
      `the program needs ${program.length} instructions, more than the kernel's ${BPF_MAXINSNS}`,
    );
  }
  verifyProgram(program);
  return program;
}
