/**
 * tcpdump's text for one TCP option, shared by the summary and verbose formatters.
 *
 * @module
 */

import {
  TCP_OPTION_EOL,
  TCP_OPTION_MSS,
  TCP_OPTION_NOP,
  TCP_OPTION_SACK,
  TCP_OPTION_SACK_PERMITTED,
  TCP_OPTION_TIMESTAMP,
  TCP_OPTION_WINDOW_SCALE,
} from "../parsers/tcp.ts";
import type { TcpOption } from "../parsers/types.ts";
import { AsciiBuffer, CLOSE_BRACE, COLON, OPEN_BRACE, SPACE } from "./ascii.ts";
import { safeText } from "./text.ts";

/** RFC 6994 shared experimental option: printed as `exp-` and its 16-bit ExID. */
const TCP_OPTION_EXPERIMENT = 254;
/** Hex digits of an RFC 6994 ExID. */
const EXID_DIGITS = 4;
/** tcpdump's names for the options it knows but snout does not decode. */
const TCP_OPTION_NAMES: ReadonlyMap<number, string> = new Map([
  [6, "echo"],
  [7, "echoreply"],
  [11, "cc"],
  [12, "ccnew"],
  [13, "ccecho"],
  [19, "md5"],
  [20, "scps"],
  [28, "uto"],
  [29, "tcp-ao"],
  [30, "mptcp"],
  [34, "tfo"],
]);

/**
 * One TCP option as tcpdump prints it inside `options [...]`: `mss 1460`, `sackOK`,
 * `TS val 1 ecr 0`, `nop`, `wscale 7`, `sack 1 {a:b}`, `eol`, `exp-acc0`; an option snout does
 * not decode is its tcpdump name or `unknown-KIND`, then its bytes as `0x...` when it has any.
 * SACK edges are absolute, as with `tcpdump -S`.
 *
 * @example Known and unknown options
 * ```ts
 * import { tcpOptionText } from "./tcp_option.ts";
 * import assert from "node:assert/strict";
 * assert.equal(tcpOptionText({ kind: 8, length: 10, tsval: 1, tsecr: 0 }), "TS val 1 ecr 0");
 * assert.equal(tcpOptionText({ kind: 99, length: 4, data: "0102" }), "unknown-99 0x0102");
 * ```
 */
export function tcpOptionText(option: TcpOption): string {
  scratch.length = 0;
  writeTcpOption(scratch, option);
  return scratch.toString();
}

/** Where {@linkcode tcpOptionText} writes an option before it becomes a string. */
const scratch = new AsciiBuffer();

/**
 * Writes the text {@linkcode tcpOptionText} returns into `out`.
 *
 * @example An option list as a summary writes it
 * ```ts
 * import { writeTcpOption } from "./tcp_option.ts";
 * import { AsciiBuffer } from "./ascii.ts";
 * import assert from "node:assert/strict";
 * const out = new AsciiBuffer();
 * writeTcpOption(out, { kind: 2, length: 4, mss: 1460 });
 * out.text(",");
 * writeTcpOption(out, { kind: 5, length: 10, blocks: [[1, 4000000000]] });
 * assert.equal(out.toString(), "mss 1460,sack 1 {1:4000000000}");
 * ```
 */
export function writeTcpOption(out: AsciiBuffer, option: TcpOption): void {
  switch (option.kind) {
    case TCP_OPTION_EOL:
      out.text("eol");
      return;
    case TCP_OPTION_NOP:
      out.text("nop");
      return;
    case TCP_OPTION_MSS:
      if (option.mss === undefined) break;
      out.text("mss ");
      out.decimal(option.mss);
      return;
    case TCP_OPTION_WINDOW_SCALE:
      if (option.shift === undefined) break;
      out.text("wscale ");
      out.decimal(option.shift);
      return;
    case TCP_OPTION_SACK_PERMITTED:
      if (option.data !== undefined && option.data !== "") break;
      out.text("sackOK");
      return;
    case TCP_OPTION_SACK: {
      const blocks = option.blocks;
      if (blocks === undefined) break;
      out.text("sack ");
      out.decimal(blocks.length);
      out.byte(SPACE);
      for (let i = 0; i < blocks.length; i++) {
        const block = blocks[i]!;
        out.byte(OPEN_BRACE);
        out.decimal(block[0]);
        out.byte(COLON);
        out.decimal(block[1]);
        out.byte(CLOSE_BRACE);
      }
      return;
    }
    case TCP_OPTION_TIMESTAMP:
      if (option.tsval === undefined) break;
      out.text("TS val ");
      out.decimal(option.tsval);
      out.text(" ecr ");
      out.decimal(option.tsecr ?? 0);
      return;
    case TCP_OPTION_EXPERIMENT:
      if (option.data === undefined || option.data.length < EXID_DIGITS) break;
      out.text("exp-" + safeText(option.data.slice(0, EXID_DIGITS)));
      return;
  }
  const name = TCP_OPTION_NAMES.get(option.kind) ?? "unknown-" + option.kind;
  out.text(
    option.data === undefined || option.data === "" ? name : name + " 0x" + safeText(option.data),
  );
}
