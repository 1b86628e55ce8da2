#!/usr/bin/env bash
# snout's offline benchmark: reads two pcap files with tcpdump, snout and tshark, one tool at a
# time, and prints one markdown table of packets per second.
#
# Usage: bash bench/offline.sh [--count N] [--tshark-count N] [--runs N]
#   --count N         packets per capture (default 1000000)
#   --tshark-count N  packets tshark decodes from each capture (default 50000): it manages only a
#                     few thousand packets/s, so its rate is measured on the first N packets
#   --runs N          rounds of runs, the best wall time of each tool kept (default 3); a round
#                     runs every tool once, so a slow spell of the machine falls on all of them
#
# Captures: bench/out/diverse-N.pcap (12,000 hosts) and bench/out/hosts256-N.pcap (256 hosts), made
# by bench/make_captures.ts and reused while they exist and are newer than that script.
# Commands timed (stdout to /dev/null; TZ=UTC for all of them):
#   tcpdump -n -r F
#   deno run --allow-read cli.ts -r F            (snout summaries)
#   deno run --allow-read cli.ts -r F --json     (snout JSON)
#   tshark -T json -r F -c TSHARK_COUNT
# Before timing, each tool's output is counted once per capture (lines, or tshark's "_index"
# keys) so a run that skipped packets cannot look fast. Needs python3 (bench/run_timed.py) for
# timing; installs nothing; skips a missing tool with a note.
set -euo pipefail

count=1000000
tshark_count=50000
runs=3
while (($# > 0)); do
  case "$1" in
    --count) count="${2:?--count needs a value}"; shift 2 ;;
    --tshark-count) tshark_count="${2:?--tshark-count needs a value}"; shift 2 ;;
    --runs) runs="${2:?--runs needs a value}"; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "Cannot parse arguments: unknown flag $1" >&2; exit 2 ;;
  esac
done
for value in "$count" "$tshark_count" "$runs"; do
  if ! [[ "$value" =~ ^[1-9][0-9]*$ ]]; then
    echo "Cannot parse arguments: expected a positive whole number, got \"$value\"" >&2
    exit 2
  fi
done
((tshark_count > count)) && tshark_count=$count

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="bench/out"
timer=(python3 bench/run_timed.py)
export TZ=UTC

have() { command -v "$1" > /dev/null 2>&1; }
notes=()
note() { notes+=("$1"); echo "Note: $1" >&2; }

if ! have python3; then echo "Cannot time runs: python3 is missing" >&2; exit 1; fi
if ! have deno; then echo "Cannot make captures: deno is missing" >&2; exit 1; fi
use_tcpdump=1 use_tshark=1 use_snout=1
have tcpdump || { use_tcpdump=0; note "tcpdump is missing: skipped"; }
have tshark || { use_tshark=0; note "tshark is missing: skipped"; }

load_before="$(cut -d' ' -f1-3 /proc/loadavg 2> /dev/null || echo unknown)"

# ---- Captures ----------------------------------------------------------------------------------
mkdir -p "$out"
captures=(diverse hosts256)
fresh=1
for name in "${captures[@]}"; do
  file="$out/$name-$count.pcap"
  [[ -f "$file" && "$file" -nt bench/make_captures.ts ]] || fresh=0
done
if ((fresh)); then
  echo "Reusing $out/{diverse,hosts256}-$count.pcap" >&2
else
  deno run --allow-read --allow-write bench/make_captures.ts --count "$count" --out "$out" >&2
fi

snout=(deno run --allow-read cli.ts)
if [[ ! -f cli.ts ]]; then
  use_snout=0
  note "snout not runnable: cli.ts does not exist yet"
fi

# ---- Runs --------------------------------------------------------------------------------------
rows=() # capture|tool|packets|wall|cpu|complete (1 or 0)
declare -A incomplete=()
failures=0

# verify CAPTURE TOOL EXPECTED COUNTED: flags a tool whose output did not cover every packet.
verify() {
  if [[ "$4" != "$3" ]]; then
    note "$2 on $1 reported $4 of $3 packets: its rate is not comparable"
    incomplete["$1|$2"]=1
    failures=$((failures + 1))
  else
    echo "  $2: saw all $3 packets" >&2
  fi
}

declare -A best=() # CAPTURE|TOOL -> "WALL CPU" of its fastest run so far

# time_once CAPTURE TOOL COMMAND...: runs COMMAND once, keeping its time if it is TOOL's best.
time_once() {
  local key="$1|$2"
  shift 2
  local result
  result="$("${timer[@]}" time --runs 1 -- "$@")"
  if [[ -z "${best[$key]:-}" ]] ||
    awk -v a="${result% *}" -v b="${best[$key]% *}" 'BEGIN { exit !(a < b) }'; then
    best[$key]="$result"
  fi
}

# add_row CAPTURE TOOL PACKETS: appends TOOL's best run on CAPTURE to the table.
add_row() {
  local key="$1|$2" result="${best["$1|$2"]}"
  rows+=("$key|$3|${result% *}|${result#* }|$((incomplete["$key"] ? 0 : 1))")
}

for name in "${captures[@]}"; do
  file="$out/$name-$count.pcap"
  echo "$name ($file):" >&2
  # Count first: checks completeness and warms the page cache and deno's module cache.
  if ((use_tcpdump)); then
    verify "$name" "tcpdump -n -r" "$count" "$("${timer[@]}" count -- tcpdump -n -r "$file")"
  fi
  if ((use_snout)); then
    if counted="$("${timer[@]}" count -- "${snout[@]}" -r "$file")" &&
      json_counted="$("${timer[@]}" count -- "${snout[@]}" -r "$file" --json)"; then
      verify "$name" "snout -r" "$count" "$counted"
      verify "$name" "snout -r --json" "$count" "$json_counted"
    else
      use_snout=0
      note "snout not runnable: 'deno run --allow-read cli.ts -r $file [--json]' failed"
    fi
  fi
  if ((use_tshark)); then
    verify "$name" "tshark -T json -r" "$tshark_count" \
      "$("${timer[@]}" count --match '"_index":' -- tshark -T json -r "$file" -c "$tshark_count")"
  fi
  for ((round = 1; round <= runs; round++)); do
    echo "  timing round $round of $runs" >&2
    ((use_tcpdump)) && time_once "$name" "tcpdump -n -r" tcpdump -n -r "$file"
    if ((use_snout)); then
      time_once "$name" "snout -r" "${snout[@]}" -r "$file"
      time_once "$name" "snout -r --json" "${snout[@]}" -r "$file" --json
    fi
    ((use_tshark)) && time_once "$name" "tshark -T json -r" tshark -T json -r "$file" -c "$tshark_count"
  done
  ((use_tcpdump)) && add_row "$name" "tcpdump -n -r" "$count"
  if ((use_snout)); then
    add_row "$name" "snout -r" "$count"
    add_row "$name" "snout -r --json" "$count"
  fi
  ((use_tshark)) && add_row "$name" "tshark -T json -r" "$tshark_count"
done

# ---- Report ------------------------------------------------------------------------------------
cpu_model="$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2> /dev/null || true)"
first_line() { "$@" 2>&1 | head -n 1 || true; }
echo
echo "## snout offline benchmark"
echo
echo "- Machine: $(nproc) CPUs, ${cpu_model:-unknown CPU}, $(uname -sr)," \
  "$(awk '/^MemTotal/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo)"
versions="$(first_line deno --version)"
((use_tcpdump)) && versions+="; $(tcpdump --version 2>&1 | head -n 2 | paste -sd ' ')"
((use_tshark)) && versions+="; $(tshark --version 2> /dev/null | head -n 1)"
echo "- Versions: $versions"
echo "- Captures: $count packets each (classic pcap, Ethernet); diverse = 6,000 IPv4 + 6,000" \
  "IPv6 hosts, hosts256 = 256 hosts. Best wall time of $runs run(s) of each tool, taken in" \
  "rounds that run every tool once; tshark reads the first $tshark_count packets only, so" \
  "compare packets/s, not seconds."
echo "- Load average (1, 5, 15 min) before: $load_before; after:" \
  "$(cut -d' ' -f1-3 /proc/loadavg 2> /dev/null || echo unknown) (other work on the machine skews wall s)"
echo "- cpu s = user+sys of the process and its threads; packets/s = packets / wall s; TZ=UTC."
echo
printf '%s\n' "${rows[@]}" | awk -F'|' '
  { capture[NR] = $1; tool[NR] = $2; packets[NR] = $3; wall[NR] = $4; cpu[NR] = $5
    rate[NR] = $4 > 0 ? $3 / $4 : 0
    if ($6 == 0) tool[NR] = $2 " (OUTPUT INCOMPLETE)"
    if ($2 == "tcpdump -n -r") base[$1] = rate[NR] }
  END {
    print "| capture | tool | packets | wall s | cpu s | packets/s | vs tcpdump |"
    print "|---|---|---:|---:|---:|---:|---:|"
    for (i = 1; i <= NR; i++) {
      ratio = base[capture[i]] > 0 ? sprintf("%.2fx", rate[i] / base[capture[i]]) : "n/a"
      printf "| %s | %s | %d | %.3f | %.3f | %.0f | %s |\n", capture[i], tool[i], packets[i],
        wall[i], cpu[i], rate[i], ratio
    }
  }'

echo
echo "### Targets"
printf '%s\n' "${rows[@]}" | awk -F'|' '
  { rate[$1 "|" $2] = $4 > 0 ? $3 / $4 : 0; complete[$1 "|" $2] = $6 }
  function compare(label, capture, a, b, goal,   x) {
    if (!((capture "|" a) in rate) || !((capture "|" b) in rate) || rate[capture "|" b] == 0) {
      printf "- %s on %s: not measured\n", label, capture; return
    }
    if (!complete[capture "|" a] || !complete[capture "|" b]) {
      printf "- %s on %s: not comparable (output incomplete)\n", label, capture; return
    }
    x = rate[capture "|" a] / rate[capture "|" b]
    printf "- %s on %s: %.2fx (goal >= %sx): %s\n", label, capture, x, goal,
      (x >= goal ? "met" : "NOT met")
  }
  END {
    compare("snout -r vs tcpdump -n -r, packets/s", "diverse", "snout -r", "tcpdump -n -r", 2)
    compare("snout -r vs tcpdump -n -r, packets/s", "hosts256", "snout -r", "tcpdump -n -r", 1)
    compare("snout -r --json vs tshark -T json -r, packets/s", "diverse", "snout -r --json",
      "tshark -T json -r", 50)
    compare("snout -r --json vs tshark -T json -r, packets/s", "hosts256", "snout -r --json",
      "tshark -T json -r", 50)
  }'

if ((${#notes[@]} > 0)); then
  echo
  echo "### Notes"
  printf -- '- %s\n' "${notes[@]}"
fi
((failures == 0)) || exit 1
