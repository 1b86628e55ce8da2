/**
 * tcpdump's text for one TCP option, shared by the summary and verbose formatters.
 *
 * @module
 */

import type { TcpOption } from "../parsers/types.ts";
import { safeText, uint32Text } from "./text.ts";

/** End of option list: tcpdump prints nothing after it. */
export const TCP_OPTION_EOL = 0;
const TCP_OPTION_NOP = 1;
const TCP_OPTION_MSS = 2;
const TCP_OPTION_WSCALE = 3;
const TCP_OPTION_SACK_PERMITTED = 4;
const TCP_OPTION_SACK = 5;
const TCP_OPTION_TIMESTAMP = 8;
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
 * console.assert(tcpOptionText({ kind: 8, length: 10, tsval: 1, tsecr: 0 }) === "TS val 1 ecr 0");
 * console.assert(tcpOptionText({ kind: 99, length: 4, data: "0102" }) === "unknown-99 0x0102");
 * ```
 */
export function tcpOptionText(option: TcpOption): string {
  switch (option.kind) {
    case TCP_OPTION_EOL:
      return "eol";
    case TCP_OPTION_NOP:
      return "nop";
    case TCP_OPTION_MSS:
      if (option.mss !== undefined) return "mss " + option.mss;
      break;
    case TCP_OPTION_WSCALE:
      if (option.shift !== undefined) return "wscale " + option.shift;
      break;
    case TCP_OPTION_SACK_PERMITTED:
      if (option.data === undefined || option.data === "") return "sackOK";
      break;
    case TCP_OPTION_SACK: {
      const blocks = option.blocks;
      if (blocks === undefined) break;
      let text = "sack " + blocks.length + " ";
      for (let i = 0; i < blocks.length; i++) {
        const block = blocks[i]!;
        text += "{" + uint32Text(block[0]) + ":" + uint32Text(block[1]) + "}";
      }
      return text;
    }
    case TCP_OPTION_TIMESTAMP:
      if (option.tsval !== undefined) {
        return "TS val " + uint32Text(option.tsval) + " ecr " + uint32Text(option.tsecr ?? 0);
      }
      break;
    case TCP_OPTION_EXPERIMENT:
      if (option.data !== undefined && option.data.length >= EXID_DIGITS) {
        return "exp-" + safeText(option.data.slice(0, EXID_DIGITS));
      }
      break;
  }
  const name = TCP_OPTION_NAMES.get(option.kind) ?? "unknown-" + option.kind;
  return option.data === undefined || option.data === ""
    ? name
    : name + " 0x" + safeText(option.data);
}
