#!/usr/bin/env python3
"""Small, bounded traffic makers for tests/record_fixtures.sh.

Standard library only. Each subcommand makes one piece of traffic and exits; every socket has a
timeout, so nothing here can run forever. The script runs these inside the snout- network
namespaces it creates; nothing here chooses an address on its own.

Subcommands:
  tcp-server   accept one connection, then reply to one request line or send numbered chunks
  tcp-client   connect, send one request line, read until the server closes
  tcp-refused  connect to a closed port and expect ECONNREFUSED (SYN -> RST/ACK)
  udp-recv     receive COUNT datagrams on a dual-stack socket
  udp-send     send COUNT datagrams of SIZE bytes (no DF: large ones are fragmented)
  udp-ip-options  send one IPv4 UDP datagram carrying an IP option (IP_OPTIONS)
  ipv6-ext     send IPv6 UDP with hop-by-hop/destination options, a segment routing header,
               and a hand-built packet with a type 0 routing header (raw socket)
"""

import argparse
import ipaddress
import os
import socket
import struct
import sys
import time

DEFAULT_TIMEOUT_S = 5.0
MAX_COUNT = 50
MAX_UDP_PAYLOAD = 65507
RECV_BUFFER = 65536
READY_SUFFIX = ".tmp"

# Linux <linux/in.h> / <linux/in6.h> values that Python's socket module does not export.
IP_MTU_DISCOVER = 10
IP_PMTUDISC_DONT = 0
IPV6_MTU_DISCOVER = 23
IPV6_PMTUDISC_DONT = 0

# IPv4 option bytes (RFC 791, RFC 2113).
IPOPT_ROUTER_ALERT = bytes([0x94, 0x04, 0x00, 0x00])
IPOPT_NOP = 0x01
IPOPT_END = 0x00
IPOPT_TIMESTAMP = 0x44
IPOPT_TS_TSONLY = 0
IPV4_OPTION_ALIGNMENT = 4

# IPv6 extension header pieces (RFC 8200, RFC 2711, RFC 3692, RFC 8754, RFC 5095).
IPV6_OPT_PADN = 0x01
IPV6_OPT_ROUTER_ALERT = 0x05
IPV6_ROUTER_ALERT_MLD = 0
IPV6_OPT_EXPERIMENTAL = 0x1E  # action bits 00: skip if unrecognised
IPV6_RTHDR_TYPE_0 = 0
IPV6_RTHDR_TYPE_SRH = 4
IPPROTO_UDP = 17
IPPROTO_ROUTING = 43
IPV6_VERSION_WORD = 6 << 28
IPV6_HOP_LIMIT = 64
IPV6_HEADER_LEN = 40
IPV6_ADDR_LEN = 16
EXT_HDR_UNIT = 8
UDP_HEADER_LEN = 8


def log(message):
    print(f"traffic.py: {message}", file=sys.stderr)


def mark_ready(path):
    """Create path atomically so the calling script can poll for it."""
    if not path:
        return
    with open(path + READY_SUFFIX, "w", encoding="ascii") as f:
        f.write("ready\n")
    os.replace(path + READY_SUFFIX, path)


def family_of(address):
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def bounded_count(value):
    count = int(value)
    if not 1 <= count <= MAX_COUNT:
        raise argparse.ArgumentTypeError(f"count must be 1..{MAX_COUNT}")
    return count


def bounded_size(value):
    size = int(value)
    if not 0 <= size <= MAX_UDP_PAYLOAD:
        raise argparse.ArgumentTypeError(f"size must be 0..{MAX_UDP_PAYLOAD}")
    return size


def payload(size, tag):
    """Deterministic printable payload of exactly size bytes, starting with tag."""
    filler = b"snout-fixture-"
    body = tag + filler * (size // len(filler) + 1)
    return body[:size]


# ---------------------------------------------------------------- TCP


def cmd_tcp_server(args):
    family = family_of(args.bind)
    with socket.create_server((args.bind, args.port), family=family) as server:
        server.settimeout(args.timeout)
        mark_ready(args.ready_file)
        conn, peer = server.accept()
        with conn:
            conn.settimeout(args.timeout)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            request = read_line(conn)
            log(f"tcp-server: {len(request)} request bytes from {peer[0]}")
            if args.chunks:
                for index in range(args.chunks):
                    tag = args.marker.encode() if index == args.marker_chunk else b"DATA"
                    conn.sendall(payload(args.chunk_size, tag))
                    time.sleep(args.chunk_gap)
                mark_ready(args.sent_file)
            else:
                conn.sendall(payload(args.reply_size, b"REPLY "))
            # Closing here sends our FIN first; the client then closes its side.


def read_line(conn):
    data = b""
    while not data.endswith(b"\n"):
        part = conn.recv(RECV_BUFFER)
        if not part:
            break
        data += part
    return data


def cmd_tcp_client(args):
    with socket.create_connection((args.addr, args.port), timeout=args.timeout) as conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.sendall(args.request.encode() + b"\n")
        total = 0
        while True:
            part = conn.recv(RECV_BUFFER)
            if not part:
                break
            total += len(part)
        log(f"tcp-client: received {total} bytes")


def cmd_tcp_refused(args):
    try:
        with socket.create_connection((args.addr, args.port), timeout=args.timeout):
            log("tcp-refused: connection unexpectedly succeeded")
            return 1
    except ConnectionRefusedError:
        log("tcp-refused: refused as expected")
        return 0


# ---------------------------------------------------------------- UDP


def dual_stack_udp(port):
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.bind(("::", port))
    return sock


def cmd_udp_recv(args):
    with dual_stack_udp(args.port) as sock:
        sock.settimeout(args.timeout)
        mark_ready(args.ready_file)
        for _ in range(args.count):
            data, peer = sock.recvfrom(RECV_BUFFER)
            log(f"udp-recv: {len(data)} bytes from {peer[0]}")


def cmd_udp_send(args):
    family = family_of(args.addr)
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        if family == socket.AF_INET:
            sock.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT)
        else:
            sock.setsockopt(socket.IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DONT)
        if args.source_port:
            sock.bind(("", args.source_port))
        for _ in range(args.count):
            sock.sendto(payload(args.size, b"UDP "), (args.addr, args.port))
            time.sleep(args.gap)


def ipv4_timestamp_option(slots):
    """IPv4 timestamp option (RFC 791), timestamps only, with room for slots entries."""
    length = 4 + 4 * slots
    option = bytes([IPOPT_TIMESTAMP, length, 5, IPOPT_TS_TSONLY]) + bytes(4 * slots)
    return option


def cmd_udp_ip_options(args):
    if args.option == "router-alert":
        option = IPOPT_ROUTER_ALERT
    else:
        option = bytes([IPOPT_NOP]) + ipv4_timestamp_option(2)
    while len(option) % IPV4_OPTION_ALIGNMENT:
        option += bytes([IPOPT_END])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, option)
        sock.sendto(payload(args.size, f"{args.option} ".encode()), (args.addr, args.port))


# ---------------------------------------------------------------- IPv6 extension headers


def hop_by_hop_header():
    # next header (kernel fills), length 0 (8 bytes), Router Alert (MLD), PadN with 0 data bytes
    return bytes([0, 0, IPV6_OPT_ROUTER_ALERT, 2]) + struct.pack("!H", IPV6_ROUTER_ALERT_MLD) + \
        bytes([IPV6_OPT_PADN, 0])


def destination_options_header():
    # next header (kernel fills), length 0 (8 bytes), experimental option 0x1e with 2 data bytes,
    # PadN with 0 data bytes
    return bytes([0, 0, IPV6_OPT_EXPERIMENTAL, 2, 0xAB, 0xCD, IPV6_OPT_PADN, 0])


def segment_routing_header(first_hop):
    """SRH with two segments; the kernel writes segment 0 (the final destination) itself."""
    segments = 2
    header = struct.pack(
        "!BBBBBBH",
        0,  # next header, kernel fills
        segments * IPV6_ADDR_LEN // EXT_HDR_UNIT,  # header extension length
        IPV6_RTHDR_TYPE_SRH,
        1,  # segments left: the packet goes to segment 1 first
        segments - 1,  # last entry
        0,  # flags
        0,  # tag
    )
    return header + bytes(IPV6_ADDR_LEN) + ipaddress.IPv6Address(first_hop).packed


def ones_complement_sum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def udp6_datagram(src, final_dst, sport, dport, data):
    length = UDP_HEADER_LEN + len(data)
    header = struct.pack("!HHHH", sport, dport, length, 0)
    pseudo = src + final_dst + struct.pack("!IxxxB", length, IPPROTO_UDP)
    checksum = 0xFFFF - ones_complement_sum(pseudo + header + data)
    return struct.pack("!HHHH", sport, dport, length, checksum or 0xFFFF) + data


def rh0_packet(src, first_hop, final_dst, sport, dport):
    """IPv6 + type 0 routing header (deprecated, RFC 5095) + UDP, built by hand."""
    src_b = ipaddress.IPv6Address(src).packed
    hop_b = ipaddress.IPv6Address(first_hop).packed
    final_b = ipaddress.IPv6Address(final_dst).packed
    udp = udp6_datagram(src_b, final_b, sport, dport, b"snout rh0\n")
    routing = struct.pack(
        "!BBBBI", IPPROTO_UDP, IPV6_ADDR_LEN // EXT_HDR_UNIT, IPV6_RTHDR_TYPE_0, 1, 0
    ) + final_b
    body = routing + udp
    ipv6 = struct.pack("!IHBB", IPV6_VERSION_WORD, len(body), IPPROTO_ROUTING, IPV6_HOP_LIMIT)
    return ipv6 + src_b + hop_b + body


def cmd_ipv6_ext(args):
    # 1. Hop-by-hop and destination options through sendmsg ancillary data.
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
        ancillary = [
            (socket.IPPROTO_IPV6, socket.IPV6_HOPOPTS, hop_by_hop_header()),
            (socket.IPPROTO_IPV6, socket.IPV6_DSTOPTS, destination_options_header()),
        ]
        sock.sendmsg([b"snout hbh+dstopts\n"], ancillary, 0, (args.dst, args.port))
    time.sleep(args.gap)
    # 2. Segment routing header as a sticky option: first hop dst, final destination src.
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RTHDR,
                            segment_routing_header(args.dst))
            sock.sendto(b"snout srh\n", (args.src, args.port))
    except OSError as error:
        log(f"ipv6-ext: segment routing header not sent: {error}")
    time.sleep(args.gap)
    # 3. Type 0 routing header, written by hand on a raw socket (IPPROTO_RAW implies HDRINCL).
    with socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW) as sock:
        packet = rh0_packet(args.src, args.dst, args.src, args.port, args.port)
        sock.sendto(packet, (args.dst, 0))


# ---------------------------------------------------------------- CLI


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("tcp-server")
    p.add_argument("--bind", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ready-file")
    p.add_argument("--reply-size", type=int, default=300)
    p.add_argument("--chunks", type=bounded_count, default=0)
    p.add_argument("--chunk-size", type=int, default=200)
    p.add_argument("--chunk-gap", type=float, default=0.005)
    p.add_argument("--marker", default="DROP")
    p.add_argument("--marker-chunk", type=int, default=2)
    p.add_argument("--sent-file")
    p.set_defaults(func=cmd_tcp_server)

    p = sub.add_parser("tcp-client")
    p.add_argument("--addr", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--request", default="HELLO snout")
    p.set_defaults(func=cmd_tcp_client)

    p = sub.add_parser("tcp-refused")
    p.add_argument("--addr", required=True)
    p.add_argument("--port", type=int, required=True)
    p.set_defaults(func=cmd_tcp_refused)

    p = sub.add_parser("udp-recv")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--count", type=bounded_count, default=1)
    p.add_argument("--ready-file")
    p.set_defaults(func=cmd_udp_recv)

    p = sub.add_parser("udp-send")
    p.add_argument("--addr", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--size", type=bounded_size, default=32)
    p.add_argument("--count", type=bounded_count, default=1)
    p.add_argument("--gap", type=float, default=0.05)
    p.add_argument("--source-port", type=int, default=0)
    p.set_defaults(func=cmd_udp_send)

    p = sub.add_parser("udp-ip-options")
    p.add_argument("--addr", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--option", choices=["router-alert", "timestamp"], required=True)
    p.add_argument("--size", type=bounded_size, default=24)
    p.set_defaults(func=cmd_udp_ip_options)

    p = sub.add_parser("ipv6-ext")
    p.add_argument("--src", required=True)
    p.add_argument("--dst", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--gap", type=float, default=0.05)
    p.set_defaults(func=cmd_ipv6_ext)

    args = parser.parse_args()
    socket.setdefaulttimeout(args.timeout)
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
