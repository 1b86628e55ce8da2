#!/usr/bin/env bash
# Records snout's own test fixtures (tests/testdata/*.pcap) from traffic made between two network
# namespaces that this script creates, joined by a veth pair, and deletes again on exit.
#
#   sudo tests/record_fixtures.sh
#
# Nothing is captured on or sent through an interface this script did not create. Every traffic
# step is bounded in count and time. Rerunning replaces the fixtures and tests/testdata/README.md.
set -euo pipefail

if [[ ${EUID} -ne 0 ]]; then
  echo "record_fixtures.sh: Cannot record fixtures: must run as root (network namespaces, tcpdump)" >&2
  exit 1
fi

export TZ=UTC LC_ALL=C

readonly SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly OUT_DIR="${SCRIPT_DIR}/testdata"
readonly TRAFFIC="${SCRIPT_DIR}/fixture_tools/traffic.py"
readonly README="${OUT_DIR}/README.md"

readonly NS_A="snout-fx-a-$$"
readonly NS_B="snout-fx-b-$$"
readonly VETH_A="vfx-a"
readonly VETH_B="vfx-b"
readonly DROP_A="vfx-drop0" # a veth pair inside namespace a that swallows redirected packets
readonly DROP_B="vfx-drop1"
readonly MAC_A="02:00:00:00:99:01"
readonly MAC_B="02:00:00:00:99:02"
readonly MAC_DROP_A="02:00:00:00:99:f0"
readonly MAC_DROP_B="02:00:00:00:99:f1"
readonly IP4_A="10.99.0.1"
readonly IP4_B="10.99.0.2"
readonly IP4_PREFIX="24"
readonly IP6_A="fd00:99::1"
readonly IP6_B="fd00:99::2"
readonly IP6_PREFIX="64"
readonly LOOPBACK4="127.0.0.1"

readonly PORT_CLOSED=9 # nothing listens here: SYN -> RST/ACK, UDP -> ICMP port unreachable
readonly PORT_UDP=9999
readonly PORT_TCP=8080
readonly PORT_TCP_SACK=8082
readonly PORT_TCP_LO=8081
readonly FRAGMENTED_UDP_SIZE=3000 # MTU 1500 -> 3 fragments over IPv4 and over IPv6
readonly SACK_CHUNKS=8
readonly SACK_DROPPED_CHUNK=2
readonly SACK_MARKER="DROP"
readonly SACK_MARKER_HEX="0x44524f50"
readonly TCP_PAYLOAD_OFFSET=52 # IPv4 header (20) + TCP header with timestamps (32)

readonly STEP_TIMEOUT=5     # seconds any single traffic command may take
readonly SERVER_TIMEOUT=8   # seconds a background listener may live
readonly WAIT_TICKS=50      # polls of WAIT_TICK seconds for readiness (5 s)
readonly WAIT_TICK=0.1
readonly SETTLE_SECONDS=1   # let link-up chatter (MLD) die down before the first capture
readonly FLUSH_SECONDS=0.3  # let tcpdump write the last packets before stopping it
readonly MAX_PACKETS=60

WORK_DIR=""
CAPTURE_PID=""
BG_PIDS=()

# Fixture metadata, filled by the record_* functions, in recording order.
FIXTURES=()
declare -A HOW=() WHAT=() EXPECT=() LINKTYPE=()

log() { printf 'record_fixtures: %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}

cleanup() {
  local status=$?
  set +e
  for pid in ${CAPTURE_PID} "${BG_PIDS[@]}"; do
    if kill -0 "${pid}" 2>/dev/null; then
      kill -TERM "${pid}" 2>/dev/null
      wait "${pid}" 2>/dev/null
    fi
  done
  for ns in "${NS_A}" "${NS_B}"; do
    if ip netns list | grep -qw -- "${ns}"; then
      ip netns delete "${ns}"
    fi
  done
  if [[ -n ${WORK_DIR} && -d ${WORK_DIR} ]]; then
    rm -rf -- "${WORK_DIR}"
  fi
  if [[ ${status} -ne 0 ]]; then
    log "Failed with status ${status}; namespaces removed, existing fixtures left unchanged"
  fi
  exit "${status}"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ prerequisites

ensure_packages() {
  local -A needed=(
    [ip]=iproute2 [tc]=iproute2 [ping]=iputils-ping [tcpdump]=tcpdump [ethtool]=ethtool
    [python3]=python3
  )
  local missing=() cmd
  for cmd in "${!needed[@]}"; do
    command -v "${cmd}" >/dev/null 2>&1 || missing+=("${needed[${cmd}]}")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    return
  fi
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  log "Installing missing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"
  fi
}

# ------------------------------------------------------------------ namespaces

in_a() { ip netns exec "${NS_A}" "$@"; }
in_b() { ip netns exec "${NS_B}" "$@"; }
traffic_a() { in_a timeout "${STEP_TIMEOUT}" python3 "${TRAFFIC}" "$@"; }

set_sysctls() {
  local ns=$1
  # No DAD (addresses usable at once), no router solicitations, no RA: quiet, repeatable links.
  ip netns exec "${ns}" sysctl -q -w \
    net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
    net.ipv6.conf.all.router_solicitations=0 net.ipv6.conf.default.router_solicitations=0 \
    net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 >/dev/null
}

setup_namespaces() {
  ip netns add "${NS_A}"
  ip netns add "${NS_B}"
  set_sysctls "${NS_A}"
  set_sysctls "${NS_B}"
  ip -n "${NS_A}" link add "${VETH_A}" address "${MAC_A}" type veth \
    peer name "${VETH_B}" address "${MAC_B}" netns "${NS_B}"
  # Checksums filled in by the sender (no CHECKSUM_PARTIAL) and no TSO super-frames on the wire.
  in_a ethtool -K "${VETH_A}" tx off >/dev/null
  in_b ethtool -K "${VETH_B}" tx off >/dev/null
  ip -n "${NS_A}" addr add "${IP4_A}/${IP4_PREFIX}" dev "${VETH_A}"
  ip -n "${NS_B}" addr add "${IP4_B}/${IP4_PREFIX}" dev "${VETH_B}"
  ip -n "${NS_A}" -6 addr add "${IP6_A}/${IP6_PREFIX}" dev "${VETH_A}" nodad
  ip -n "${NS_B}" -6 addr add "${IP6_B}/${IP6_PREFIX}" dev "${VETH_B}" nodad
  for ns in "${NS_A}" "${NS_B}"; do
    ip -n "${ns}" link set lo up
  done
  ip -n "${NS_A}" link set "${VETH_A}" up
  ip -n "${NS_B}" link set "${VETH_B}" up
  sleep "${SETTLE_SECONDS}"
}

flush_neighbours() {
  local family=$1
  ip -n "${NS_A}" "${family}" neigh flush dev "${VETH_A}"
  ip -n "${NS_B}" "${family}" neigh flush dev "${VETH_B}"
}

# ------------------------------------------------------------------ capture and helpers

wait_for_file() {
  local path=$1 what=$2 tick
  for ((tick = 0; tick < WAIT_TICKS; tick++)); do
    [[ -e ${path} ]] && return 0
    sleep "${WAIT_TICK}"
  done
  die "Cannot continue: ${what} not ready after $((WAIT_TICKS / 10)) s"
}

# start_capture NAME IFACE FILTER [TCPDUMP_OPTION...]: tcpdump in namespace a into WORK_DIR/NAME.pcap
start_capture() {
  local name=$1 iface=$2 filter=$3
  shift 3
  local logfile="${WORK_DIR}/${name}.log" tick
  # --immediate-mode: TPACKET_V2, so packets in a not yet retired TPACKET_V3 block are not lost on
  # SIGINT.
  ip netns exec "${NS_A}" tcpdump -Z root -U --immediate-mode -n -i "${iface}" "$@" \
    -w "${WORK_DIR}/${name}.pcap" "${filter}" 2>"${logfile}" &
  CAPTURE_PID=$!
  for ((tick = 0; tick < WAIT_TICKS; tick++)); do
    grep -qs "listening on" "${logfile}" && return 0
    kill -0 "${CAPTURE_PID}" 2>/dev/null || die "Cannot start tcpdump for ${name}: $(cat "${logfile}")"
    sleep "${WAIT_TICK}"
  done
  die "Cannot start tcpdump for ${name}: not listening after $((WAIT_TICKS / 10)) s"
}

stop_capture() {
  local pid=${CAPTURE_PID} tick
  sleep "${FLUSH_SECONDS}"
  kill -INT "${pid}"
  for ((tick = 0; tick < WAIT_TICKS; tick++)); do
    kill -0 "${pid}" 2>/dev/null || break
    sleep "${WAIT_TICK}"
  done
  kill -0 "${pid}" 2>/dev/null && kill -TERM "${pid}"
  wait "${pid}" || true
  CAPTURE_PID=""
}

# bg NS ARGS...: traffic.py in the background in namespace NS; its PID is appended to BG_PIDS
bg() {
  local ns=$1
  shift
  ip netns exec "${ns}" timeout "${SERVER_TIMEOUT}" python3 "${TRAFFIC}" "$@" &
  BG_PIDS+=("$!")
}

# wait_bg: wait for every background helper; fail if one failed
wait_bg() {
  local pid status=0
  for pid in "${BG_PIDS[@]}"; do
    wait "${pid}" || status=$?
  done
  BG_PIDS=()
  [[ ${status} -eq 0 ]] || die "A traffic helper failed with status ${status}"
}

ready() { printf '%s/%s.ready' "${WORK_DIR}" "$1"; }

# fixture NAME LINKTYPE HOW WHAT EXPECT: register metadata; EXPECT is a ';'-separated list of tshark
# display filters that must each match at least one packet (a leading '?' makes one optional).
fixture() {
  FIXTURES+=("$1")
  LINKTYPE[$1]=$2
  HOW[$1]=$3
  WHAT[$1]=$4
  EXPECT[$1]=$5
}

# ------------------------------------------------------------------ themes

record_arp_ping() {
  flush_neighbours -4
  start_capture arp_ping "${VETH_A}" "arp or icmp"
  in_a timeout "${STEP_TIMEOUT}" ping -n -q -c 3 -i 0.2 -W 1 "${IP4_B}" >/dev/null
  stop_capture
  fixture arp_ping EN10MB \
    "\`ip neigh flush\`, then \`ping -c 3 -i 0.2 ${IP4_B}\`; filter \`arp or icmp\`" \
    "Ethernet II, ARP request (broadcast) and reply, IPv4, ICMP echo request/reply x3" \
    "arp.opcode == 1;arp.opcode == 2;icmp.type == 8;icmp.type == 0"
}

record_ping6_ndp() {
  flush_neighbours -6
  start_capture ping6_ndp "${VETH_A}" "icmp6"
  in_a timeout "${STEP_TIMEOUT}" ping -6 -n -q -c 3 -i 0.2 -W 1 "${IP6_B}" >/dev/null
  stop_capture
  fixture ping6_ndp EN10MB \
    "\`ip -6 neigh flush\`, then \`ping -6 -c 3 -i 0.2 ${IP6_B}\`; filter \`icmp6\`" \
    "IPv6, ICMPv6 neighbour solicitation (multicast, source link-layer option) and advertisement, echo request/reply x3" \
    "icmpv6.type == 135;icmpv6.type == 136;icmpv6.type == 128;icmpv6.type == 129"
}

record_ip_fragments() {
  start_capture ip_fragments "${VETH_A}" "udp or ip6[6] == 44"
  bg "${NS_B}" udp-recv --port "${PORT_UDP}" --count 2 --ready-file "$(ready frag)"
  wait_for_file "$(ready frag)" "UDP listener"
  traffic_a udp-send --addr "${IP4_B}" --port "${PORT_UDP}" --size "${FRAGMENTED_UDP_SIZE}"
  traffic_a udp-send --addr "${IP6_B}" --port "${PORT_UDP}" --size "${FRAGMENTED_UDP_SIZE}"
  wait_bg
  stop_capture
  fixture ip_fragments EN10MB \
    "\`traffic.py udp-send --size ${FRAGMENTED_UDP_SIZE}\` to ${IP4_B} and ${IP6_B} port ${PORT_UDP} (listener in b); filter \`udp or ip6[6] == 44\`" \
    "One ${FRAGMENTED_UDP_SIZE}-byte UDP datagram as 3 IPv4 fragments (MF, offsets) and as 3 IPv6 fragments (fragment header)" \
    "ip.flags.mf == 1;ip.frag_offset > 0;ipv6.fraghdr.more == 1;ipv6.fraghdr.offset > 0"
}

# record_tcp_session NAME SERVER_ADDR: one TCP connection, request a->b, reply b->a, FIN both ways
record_tcp_session() {
  local name=$1 addr=$2
  start_capture "${name}" "${VETH_A}" "tcp port ${PORT_TCP}"
  bg "${NS_B}" tcp-server --bind "${addr}" --port "${PORT_TCP}" --ready-file "$(ready "${name}")"
  wait_for_file "$(ready "${name}")" "TCP server"
  traffic_a tcp-client --addr "${addr}" --port "${PORT_TCP}"
  wait_bg
  stop_capture
}

record_tcp_sessions() {
  record_tcp_session tcp_session "${IP4_B}"
  fixture tcp_session EN10MB \
    "\`traffic.py tcp-server\` in b on ${IP4_B}:${PORT_TCP}, \`traffic.py tcp-client\` in a; filter \`tcp port ${PORT_TCP}\`" \
    "TCP over IPv4: SYN with MSS, SACK-permitted, timestamps, window scale; 12-byte request a->b, 300-byte reply b->a; FIN from both sides" \
    "tcp.flags.syn == 1 && tcp.options.mss_val;tcp.options.sack_perm;tcp.options.wscale.shift;tcp.options.timestamp.tsval;tcp.len > 0 && ip.src == ${IP4_A};tcp.len > 0 && ip.src == ${IP4_B};tcp.flags.fin == 1"
  record_tcp_session tcp6_session "${IP6_B}"
  fixture tcp6_session EN10MB \
    "As tcp_session, over IPv6 to [${IP6_B}]:${PORT_TCP}" \
    "TCP over IPv6 (checksum over the IPv6 pseudo-header), same options and exchange as tcp_session" \
    "ipv6 && tcp.flags.syn == 1 && tcp.options.mss_val;tcp.len > 0 && ipv6.src == ${IP6_A};tcp.len > 0 && ipv6.src == ${IP6_B};tcp.flags.fin == 1"
}

# SACK: drop chunk ${SACK_DROPPED_CHUNK} of b's data on arrival at a (after tcpdump has seen it, since
# ingress tc runs after the packet taps) by redirecting it into a veth pair that leads nowhere, so a
# acknowledges the later chunks with SACK blocks; the filter is removed so the retransmission lands.
record_tcp_sack() {
  ip -n "${NS_A}" link add "${DROP_A}" address "${MAC_DROP_A}" type veth \
    peer name "${DROP_B}" address "${MAC_DROP_B}"
  in_a sysctl -q -w "net.ipv6.conf.${DROP_A}.disable_ipv6=1" "net.ipv6.conf.${DROP_B}.disable_ipv6=1"
  ip -n "${NS_A}" link set "${DROP_A}" up
  ip -n "${NS_A}" link set "${DROP_B}" up
  if ! { tc -n "${NS_A}" qdisc add dev "${VETH_A}" clsact &&
    tc -n "${NS_A}" filter add dev "${VETH_A}" ingress protocol ip prio 1 u32 \
      match ip protocol 6 0xff match ip sport "${PORT_TCP_SACK}" 0xffff \
      match u32 "${SACK_MARKER_HEX}" 0xffffffff at "${TCP_PAYLOAD_OFFSET}" \
      action mirred egress redirect dev "${DROP_A}"; } 2>"${WORK_DIR}/tc.log"; then
    log "Skipping tcp_sack: tc clsact/u32/mirred unavailable ($(tr '\n' ' ' <"${WORK_DIR}/tc.log"))"
    return 0
  fi
  start_capture tcp_sack "${VETH_A}" "tcp port ${PORT_TCP_SACK}"
  bg "${NS_B}" tcp-server --bind "${IP4_B}" --port "${PORT_TCP_SACK}" --ready-file "$(ready sack)" \
    --chunks "${SACK_CHUNKS}" --marker "${SACK_MARKER}" --marker-chunk "${SACK_DROPPED_CHUNK}" \
    --sent-file "$(ready sack-sent)"
  wait_for_file "$(ready sack)" "TCP server"
  bg "${NS_A}" tcp-client --addr "${IP4_B}" --port "${PORT_TCP_SACK}"
  wait_for_file "$(ready sack-sent)" "TCP sender"
  tc -n "${NS_A}" qdisc del dev "${VETH_A}" clsact
  wait_bg
  stop_capture
  fixture tcp_sack EN10MB \
    "b sends ${SACK_CHUNKS} 200-byte chunks to a (\`traffic.py tcp-server --chunks ${SACK_CHUNKS}\`); a tc ingress u32 filter redirects chunk ${SACK_DROPPED_CHUNK} (payload starts \"${SACK_MARKER}\") away after capture, then is removed; filter \`tcp port ${PORT_TCP_SACK}\`" \
    "TCP SACK: a's duplicate ACK carries a SACK block for data that arrived after the gap; b retransmits (retransmissions sent before the filter is removed are redirected too, but captured; so the count varies by a packet or two between runs), then a FIN+PSH segment carrying the rest" \
    "tcp.options.sack_le;tcp.analysis.retransmission || tcp.analysis.fast_retransmission || tcp.analysis.spurious_retransmission"
}

record_refused() {
  start_capture refused "${VETH_A}" \
    "tcp port ${PORT_CLOSED} or udp port ${PORT_CLOSED} or icmp or (icmp6 and ip6[40] == 1)"
  traffic_a tcp-refused --addr "${IP4_B}" --port "${PORT_CLOSED}"
  traffic_a udp-send --addr "${IP4_B}" --port "${PORT_CLOSED}" --size 32
  traffic_a tcp-refused --addr "${IP6_B}" --port "${PORT_CLOSED}"
  traffic_a udp-send --addr "${IP6_B}" --port "${PORT_CLOSED}" --size 32
  stop_capture
  fixture refused EN10MB \
    "\`traffic.py tcp-refused\` and \`traffic.py udp-send\` to port ${PORT_CLOSED} of ${IP4_B} and ${IP6_B}; filter \`tcp port ${PORT_CLOSED} or udp port ${PORT_CLOSED} or icmp or (icmp6 and ip6[40] == 1)\`" \
    "SYN answered by RST/ACK (IPv4, IPv6); ICMP destination unreachable, port unreachable (3/3) and ICMPv6 destination unreachable, port unreachable (1/4), each quoting the offending datagram" \
    "ip && tcp.flags.reset == 1 && tcp.flags.ack == 1;ipv6 && tcp.flags.reset == 1;icmp.type == 3 && icmp.code == 3;icmpv6.type == 1 && icmpv6.code == 4"
}

record_ipv4_options() {
  start_capture ipv4_options "${VETH_A}" "icmp or udp"
  bg "${NS_B}" udp-recv --port "${PORT_UDP}" --count 2 --ready-file "$(ready ipopt)"
  wait_for_file "$(ready ipopt)" "UDP listener"
  in_a timeout "${STEP_TIMEOUT}" ping -n -q -c 1 -W 1 -R "${IP4_B}" >/dev/null
  in_a timeout "${STEP_TIMEOUT}" ping -n -q -c 1 -W 1 -T tsonly "${IP4_B}" >/dev/null
  traffic_a udp-ip-options --addr "${IP4_B}" --port "${PORT_UDP}" --option router-alert
  traffic_a udp-ip-options --addr "${IP4_B}" --port "${PORT_UDP}" --option timestamp
  wait_bg
  stop_capture
  fixture ipv4_options EN10MB \
    "\`ping -c 1 -R\`, \`ping -c 1 -T tsonly\`, then \`traffic.py udp-ip-options --option router-alert\` and \`--option timestamp\` (IP_OPTIONS) to ${IP4_B}:${PORT_UDP}; filter \`icmp or udp\`" \
    "IPv4 header lengths above 20: record route (NOP + RR, filled in by the reply), timestamp (tsonly), router alert, NOP/EOL padding" \
    "ip.opt.type == 7;ip.opt.type == 68;ip.opt.type == 148;ip.hdr_len > 20 && udp"
}

record_ipv6_ext_headers() {
  start_capture ipv6_ext_headers "${VETH_A}" \
    "ip6 and not (icmp6 and ip6[40] >= 133 and ip6[40] <= 137)"
  bg "${NS_B}" udp-recv --port "${PORT_UDP}" --count 1 --ready-file "$(ready ext6)"
  wait_for_file "$(ready ext6)" "UDP listener"
  traffic_a ipv6-ext --src "${IP6_A}" --dst "${IP6_B}" --port "${PORT_UDP}"
  wait_bg
  stop_capture
  fixture ipv6_ext_headers EN10MB \
    "\`traffic.py ipv6-ext\`: UDP with IPV6_HOPOPTS + IPV6_DSTOPTS ancillary data, UDP with a sticky IPV6_RTHDR segment routing header, a raw IPPROTO_RAW packet with a type 0 routing header; filter \`ip6\` without NDP" \
    "IPv6 hop-by-hop (router alert, PadN), destination options (experimental 0x1e, PadN), routing header type 4 (SRH, 2 segments, dropped by b: seg6 off) and type 0 (b answers ICMPv6 parameter problem, code 0, pointing at the routing type)" \
    "ipv6.hopopts;ipv6.dstopts;ipv6.routing.type == 0;?ipv6.routing.type == 4;?icmpv6.type == 4"
}

# record_any NAME TCPDUMP_LINKTYPE: tcpdump -i any in namespace a (veth and lo traffic)
record_any() {
  local name=$1 dlt=$2
  flush_neighbours -4
  flush_neighbours -6
  start_capture "${name}" any "arp or icmp or icmp6" -y "${dlt}"
  in_a timeout "${STEP_TIMEOUT}" ping -n -q -c 2 -i 0.2 -W 1 "${IP4_B}" >/dev/null
  in_a timeout "${STEP_TIMEOUT}" ping -6 -n -q -c 1 -W 1 "${IP6_B}" >/dev/null
  in_a timeout "${STEP_TIMEOUT}" ping -n -q -c 1 -W 1 "${LOOPBACK4}" >/dev/null
  stop_capture
}

record_cooked() {
  record_any any_sll2 LINUX_SLL2
  fixture any_sll2 LINUX_SLL2 \
    "\`tcpdump -i any -y LINUX_SLL2\` in a during \`ping -c 2 ${IP4_B}\`, \`ping -6 -c 1 ${IP6_B}\`, \`ping -c 1 ${LOOPBACK4}\` (neighbours flushed); filter \`arp or icmp or icmp6\`" \
    "Linux cooked v2 headers: protocol (IPv4, ARP, IPv6), interface index (1 = lo, 2 = ${VETH_A} in namespace a), ARPHRD_ETHER (1) and ARPHRD_LOOPBACK (772), packet types host (0) and outgoing (4); lo packets appear once, as incoming" \
    "sll.pkttype == 4;sll.pkttype == 0;arp;icmpv6.type == 135;ip.dst == ${LOOPBACK4}"
  local dlts
  dlts=$(ip netns exec "${NS_A}" tcpdump -i any -L 2>&1 || true) # this tcpdump lists on stderr
  if [[ ${dlts} == *"LINUX_SLL ("* ]]; then
    record_any any_sll LINUX_SLL
    fixture any_sll LINUX_SLL \
      "As any_sll2 with \`tcpdump -i any -y LINUX_SLL\`" \
      "Linux cooked v1 headers (packet type 0/4, ARPHRD type 1/772, link-layer address length and address, protocol), same traffic as any_sll2" \
      "sll.pkttype == 4;sll.pkttype == 0;arp;icmpv6.type == 135;ip.dst == ${LOOPBACK4}"
  else
    log "Skipping any_sll: this tcpdump cannot write LINUX_SLL"
  fi
}

record_lo_tcp() {
  start_capture lo_tcp lo "tcp port ${PORT_TCP_LO}"
  bg "${NS_A}" tcp-server --bind "${LOOPBACK4}" --port "${PORT_TCP_LO}" --ready-file "$(ready lo)"
  wait_for_file "$(ready lo)" "TCP server"
  traffic_a tcp-client --addr "${LOOPBACK4}" --port "${PORT_TCP_LO}"
  wait_bg
  stop_capture
  fixture lo_tcp EN10MB \
    "\`tcpdump -i lo\` in a; \`traffic.py tcp-server\` and \`tcp-client\` on ${LOOPBACK4}:${PORT_TCP_LO}; filter \`tcp port ${PORT_TCP_LO}\`" \
    "Loopback capture: Ethernet header with zero MAC addresses, TCP with MSS 65495; TCP checksums are NOT filled in (lo offloads them: CHECKSUM_PARTIAL), so tcpdump -vv reports them incorrect" \
    "eth.src == 00:00:00:00:00:00;tcp.flags.syn == 1 && tcp.options.mss_val == 65495;tcp.flags.fin == 1"
}

# ------------------------------------------------------------------ verification and output

link_type_of() { # prints e.g. "EN10MB (1)"
  local name number
  name=$(tcpdump -r "$1" -c 1 2>&1 >/dev/null | sed -n 's/.*link-type \([A-Z0-9_]*\) .*/\1/p')
  number=$(od -An -tu4 -j20 -N4 "$1" | tr -d ' ')
  printf '%s (%s)' "${name}" "${number}"
}

packet_count() { tcpdump -nr "$1" 2>/dev/null | wc -l; }

verify_fixture() {
  local name=$1 file="${WORK_DIR}/$1.pcap" count linktype filter optional matches
  [[ -s ${file} ]] || die "Cannot verify ${name}: no capture file"
  count=$(packet_count "${file}")
  [[ ${count} -gt 0 && ${count} -le ${MAX_PACKETS} ]] ||
    die "Cannot accept ${name}: ${count} packets (want 1..${MAX_PACKETS})"
  linktype=$(link_type_of "${file}")
  [[ ${linktype} == "${LINKTYPE[${name}]} "* ]] ||
    die "Cannot accept ${name}: link type ${linktype}, want ${LINKTYPE[${name}]}"
  echo "== ${name}.pcap: ${count} packets, link type ${linktype}"
  tcpdump -nr "${file}" 2>/dev/null | sed -n "1,4p" # sed reads all: no SIGPIPE under pipefail
  if command -v tshark >/dev/null 2>&1; then
    # tshark warns on stderr when run as root; keep it only for the failure message.
    tshark -r "${file}" >/dev/null 2>"${WORK_DIR}/tshark.log" ||
      die "Cannot read ${name} with tshark: $(tr '\n' ' ' <"${WORK_DIR}/tshark.log")"
    IFS=';' read -r -a filters <<<"${EXPECT[${name}]}"
    for filter in "${filters[@]}"; do
      optional=false
      if [[ ${filter} == '?'* ]]; then
        optional=true
        filter=${filter#?}
      fi
      matches=$(tshark -r "${file}" -Y "${filter}" 2>/dev/null | wc -l)
      if [[ ${matches} -eq 0 ]]; then
        if ${optional}; then
          log "Note: ${name}: no packet matches optional \`${filter}\`"
        else
          die "Cannot accept ${name}: no packet matches \`${filter}\`"
        fi
      fi
    done
  else
    log "tshark not installed: skipping display-filter checks for ${name}"
  fi
}

write_readme() {
  local name file
  {
    cat <<'EOF'
# Test fixtures

Recorded by [`../record_fixtures.sh`](../record_fixtures.sh) (run as root); this file is generated by
it too, so edit the script rather than this table. Nothing here comes from a foreign capture.

Setup, shared by every fixture: two network namespaces `a` and `b` joined by a veth pair,
EOF
    echo "\`${VETH_A}\` (a, ${MAC_A}, ${IP4_A}/${IP4_PREFIX}, ${IP6_A}/${IP6_PREFIX}) and"
    echo "\`${VETH_B}\` (b, ${MAC_B}, ${IP4_B}/${IP4_PREFIX}, ${IP6_B}/${IP6_PREFIX}); IPv6 DAD, router"
    cat <<'EOF'
solicitations and RA off; transmit checksum offload off on both veths (`ethtool -K tx off`) so every
checksum on the veth is complete. tcpdump runs in namespace `a` as `tcpdump -Z root -U
--immediate-mode -n -i IFACE -w FILE FILTER` (default snaplen 262144; classic pcap, microsecond
timestamps, little-endian) and is stopped with SIGINT after the traffic. Helpers are in
[`../fixture_tools/traffic.py`](../fixture_tools/traffic.py) (Python standard library only).
Timestamps, IPv4 IDs, IPv6 flow labels, ICMP identifiers, ephemeral ports, TCP sequence numbers
and TCP timestamps differ between runs; MAC and IP addresses, fixed ports and payloads do not.
Interface indexes in the cooked (`any`) captures are namespace a's, so a tcpdump reading them
elsewhere prints whatever local interface has that index.

| File | How it was made | What it exercises | Packets | Link type |
| ---- | --------------- | ----------------- | ------: | --------- |
EOF
    for name in "${FIXTURES[@]}"; do
      file="${WORK_DIR}/${name}.pcap"
      printf '| `%s.pcap` | %s | %s | %s | %s |\n' "${name}" "${HOW[${name}]}" "${WHAT[${name}]}" \
        "$(packet_count "${file}")" "$(link_type_of "${file}")"
    done
  } >"${WORK_DIR}/README.md"
}

install_fixtures() {
  local name known=" ${FIXTURES[*]} "
  mkdir -p "${OUT_DIR}"
  for name in "${FIXTURES[@]}"; do
    cp -- "${WORK_DIR}/${name}.pcap" "${OUT_DIR}/${name}.pcap.tmp"
    mv -f -- "${OUT_DIR}/${name}.pcap.tmp" "${OUT_DIR}/${name}.pcap"
  done
  # Optional fixtures not recorded this time would otherwise be stale and missing from the README.
  for name in tcp_sack any_sll; do
    if [[ ${known} != *" ${name} "* && -e ${OUT_DIR}/${name}.pcap ]]; then
      rm -f -- "${OUT_DIR}/${name}.pcap"
    fi
  done
  cp -- "${WORK_DIR}/README.md" "${README}"
}

main() {
  ensure_packages
  [[ -r ${TRAFFIC} ]] || die "Cannot find traffic helper: ${TRAFFIC}"
  WORK_DIR=$(mktemp -d /tmp/snout-fixtures.XXXXXX)
  setup_namespaces
  record_arp_ping
  record_ping6_ndp
  record_ip_fragments
  record_tcp_sessions
  record_tcp_sack
  record_refused
  record_ipv4_options
  record_ipv6_ext_headers
  record_cooked
  record_lo_tcp
  for name in "${FIXTURES[@]}"; do
    verify_fixture "${name}"
  done
  write_readme
  install_fixtures
  echo
  echo "Recorded ${#FIXTURES[@]} fixtures into ${OUT_DIR}:"
  for name in "${FIXTURES[@]}"; do
    printf '  %-22s %3s packets  %-16s %6s bytes\n' "${name}.pcap" \
      "$(packet_count "${OUT_DIR}/${name}.pcap")" "$(link_type_of "${OUT_DIR}/${name}.pcap")" \
      "$(stat -c %s "${OUT_DIR}/${name}.pcap")"
  done
}

main "$@"
