/**
 * Linux constants and kernel struct layouts (x86-64 and arm64, LP64) used by the capture code.
 * Each struct's C layout is written beside its offsets.
 *
 * @module
 */

/** Address family of packet sockets (`<sys/socket.h>`). */
export const AF_PACKET = 17;
/** Address family of IPv4. */
export const AF_INET = 2;
/** Raw socket type. */
export const SOCK_RAW = 3;
/** Datagram socket type: packet sockets without the link-layer header. */
export const SOCK_DGRAM = 2;
/** Flag for `socket`'s type: open non-blocking. */
export const SOCK_NONBLOCK = 0o4000;
/** Flag for `socket`'s type: close on exec. */
export const SOCK_CLOEXEC = 0o2000000;

/** Every protocol, as a packet socket's protocol (`<linux/if_ether.h>`). */
export const ETH_P_ALL = 0x0003;

/** Largest snapshot length, as libpcap's MAXIMUM_SNAPLEN. */
export const MAX_SNAP_LENGTH = 262144;

/** IP protocol numbers for `--l3` raw sockets. */
export const IPPROTO = { icmp: 1, tcp: 6, udp: 17 } as const;

/** Socket option level of generic options. */
export const SOL_SOCKET = 1;
/** Socket option level of packet sockets. */
export const SOL_PACKET = 263;
/** Receive buffer size. */
export const SO_RCVBUF = 8;
/** Receive buffer size, beyond rmem_max (needs CAP_NET_ADMIN). */
export const SO_RCVBUFFORCE = 33;
/** Nanosecond receive timestamps as SCM_TIMESTAMPNS control messages. */
export const SO_TIMESTAMPNS = 35;
/** Control message type carrying a struct timespec. */
export const SCM_TIMESTAMPNS = SO_TIMESTAMPNS;
/** Attach a classic BPF filter. */
export const SO_ATTACH_FILTER = 26;
/** Detach the socket's filter. */
export const SO_DETACH_FILTER = 27;

/** Join a packet membership (promiscuous mode). */
export const PACKET_ADD_MEMBERSHIP = 1;
/** Packet counters, reset by each read. */
export const PACKET_STATISTICS = 6;
/** Membership type: promiscuous mode. */
export const PACKET_MR_PROMISC = 1;
/** sll_pkttype of a packet this host sent. */
export const PACKET_OUTGOING = 4;

/** Flags of `recvmsg`: do not block. */
export const MSG_DONTWAIT = 0x40;
/** Flags of `recvmsg`: report the real length of a packet longer than the buffer. */
export const MSG_TRUNC = 0x20;

/** epoll: readable. */
export const EPOLLIN = 0x001;
/** epoll: error. */
export const EPOLLERR = 0x008;
/** epoll: edge-triggered. */
export const EPOLLET = 0x80000000;
/** epoll_ctl: add. */
export const EPOLL_CTL_ADD = 1;
/** epoll_create1: close on exec. */
export const EPOLL_CLOEXEC = 0o2000000;
/** eventfd: close on exec. */
export const EFD_CLOEXEC = 0o2000000;
/** eventfd: non-blocking. */
export const EFD_NONBLOCK = 0o4000;

/** ioctl: get interface flags. */
export const SIOCGIFFLAGS = 0x8913;
/** Interface flag: administratively up. */
export const IFF_UP = 0x1;
/** Interface flag: loopback. */
export const IFF_LOOPBACK = 0x8;
/** Interface flag: running (carrier). */
export const IFF_RUNNING = 0x40;
/** Length of an interface name, with its NUL. */
export const IFNAMSIZ = 16;

/**
 * struct sockaddr_ll (20 bytes):
 * ```c
 * unsigned short sll_family;   // 0
 * __be16         sll_protocol; // 2
 * int            sll_ifindex;  // 4
 * unsigned short sll_hatype;   // 8
 * unsigned char  sll_pkttype;  // 10
 * unsigned char  sll_halen;    // 11
 * unsigned char  sll_addr[8];  // 12
 * ```
 */
export const SOCKADDR_LL = {
  size: 20,
  family: 0,
  protocol: 2,
  ifindex: 4,
  hatype: 8,
  pkttype: 10,
  halen: 11,
  addr: 12,
} as const;

/**
 * struct packet_mreq (16 bytes):
 * ```c
 * int            mr_ifindex;    // 0
 * unsigned short mr_type;       // 4
 * unsigned short mr_alen;       // 6
 * unsigned char  mr_address[8]; // 8
 * ```
 */
export const PACKET_MREQ = { size: 16, ifindex: 0, type: 4, alen: 6, address: 8 } as const;

/**
 * struct tpacket_stats (8 bytes):
 * ```c
 * unsigned int tp_packets; // 0: packets that passed the filter
 * unsigned int tp_drops;   // 4: packets dropped for want of room
 * ```
 */
export const TPACKET_STATS = { size: 8, packets: 0, drops: 4 } as const;

/**
 * struct sock_filter (8 bytes), one classic BPF instruction, in host byte order:
 * ```c
 * __u16 code; // 0
 * __u8  jt;   // 2
 * __u8  jf;   // 3
 * __u32 k;    // 4
 * ```
 */
export const SOCK_FILTER = { size: 8, code: 0, jt: 2, jf: 3, k: 4 } as const;

/**
 * struct sock_fprog (16 bytes), what SO_ATTACH_FILTER takes:
 * ```c
 * unsigned short      len;    // 0: instructions
 * struct sock_filter *filter; // 8
 * ```
 */
export const SOCK_FPROG = { size: 16, len: 0, filter: 8 } as const;

/**
 * struct epoll_event (12 bytes, packed on x86-64; 16 on arm64):
 * ```c
 * uint32_t     events; // 0
 * epoll_data_t data;   // 4 (x86-64) or 8
 * ```
 */
export const EPOLL_EVENT = Deno.build.arch === "x86_64"
  ? { size: 12, events: 0, data: 4 } as const
  : { size: 16, events: 0, data: 8 } as const;

/**
 * struct iovec (16 bytes):
 * ```c
 * void  *iov_base; // 0
 * size_t iov_len;  // 8
 * ```
 */
export const IOVEC = { size: 16, base: 0, len: 8 } as const;

/**
 * struct msghdr (56 bytes):
 * ```c
 * void         *msg_name;       // 0
 * socklen_t     msg_namelen;    // 8
 * struct iovec *msg_iov;        // 16
 * size_t        msg_iovlen;     // 24
 * void         *msg_control;    // 32
 * size_t        msg_controllen; // 40
 * int           msg_flags;      // 48
 * ```
 */
export const MSGHDR = {
  size: 56,
  name: 0,
  namelen: 8,
  iov: 16,
  iovlen: 24,
  control: 32,
  controllen: 40,
  flags: 48,
} as const;

/**
 * struct cmsghdr (16-byte header, data after):
 * ```c
 * size_t cmsg_len;   // 0
 * int    cmsg_level; // 8
 * int    cmsg_type;  // 12
 * unsigned char cmsg_data[]; // 16
 * ```
 */
export const CMSGHDR = { size: 16, len: 0, level: 8, type: 12, data: 16 } as const;

/**
 * struct timespec (16 bytes): `time_t tv_sec` at 0, `long tv_nsec` at 8.
 */
export const TIMESPEC = { size: 16, sec: 0, nsec: 8 } as const;

/**
 * struct if_nameindex (16 bytes): `unsigned int if_index` at 0, `char *if_name` at 8; the array
 * ends with an entry whose index is 0.
 */
export const IF_NAMEINDEX = { size: 16, index: 0, name: 8 } as const;

/**
 * struct ifreq (40 bytes): `char ifr_name[16]` at 0, then a union; `short ifr_flags` at 16.
 */
export const IFREQ = { size: 40, name: 0, flags: 16 } as const;

/**
 * struct passwd, the fields read (LP64):
 * ```c
 * char *pw_name;   // 0
 * char *pw_passwd; // 8
 * uid_t pw_uid;    // 16
 * gid_t pw_gid;    // 20
 * ```
 */
export const PASSWD = { uid: 16, gid: 20 } as const;

// --- The TPACKET_V3 receive ring and fanout (<linux/if_packet.h>, <sys/mman.h>) ---

/** Socket option: the ring's frame format (int, one of the TPACKET_V* values). */
export const PACKET_VERSION = 10;
/** TPACKET_V3: variable-length frames packed into blocks that the kernel retires whole. */
export const TPACKET_V3 = 2;
/** Socket option: set up a receive ring (struct tpacket_req3). */
export const PACKET_RX_RING = 5;
/** Socket option: bytes of headroom the kernel leaves before each frame's link header. */
export const PACKET_RESERVE = 12;
/** Socket option: join a fanout group (int: group id | type << 16). */
export const PACKET_FANOUT = 18;
/** Fanout by a hash of the flow's addresses and ports. */
export const PACKET_FANOUT_HASH = 0;
/** Fanout flag: reassemble IP fragments before hashing, so a datagram stays in one socket. */
export const PACKET_FANOUT_FLAG_DEFRAG = 0x8000;
/** Block or frame status: owned by the kernel. */
export const TP_STATUS_KERNEL = 0;
/** Block status: handed to user space. */
export const TP_STATUS_USER = 1;
/** Frame status: `tp_vlan_tci` holds a tag the device took off the frame. */
export const TP_STATUS_VLAN_VALID = 1 << 4;
/** Frame status: `tp_vlan_tpid` holds that tag's TPID. */
export const TP_STATUS_VLAN_TPID_VALID = 1 << 6;
/** Frame offsets and lengths in the ring are multiples of this. */
export const TPACKET_ALIGNMENT = 16;
/** mmap protection: readable and writable. */
export const PROT_READ_WRITE = 0x1 | 0x2;
/** mmap flags: shared with the kernel. */
export const MAP_SHARED = 0x01;

/**
 * struct tpacket_req3 (28 bytes), the argument of PACKET_RX_RING:
 * ```c
 * unsigned int tp_block_size;       // 0: a multiple of the page size
 * unsigned int tp_block_nr;         // 4
 * unsigned int tp_frame_size;       // 8: only checked, TPACKET_V3 frames vary in size
 * unsigned int tp_frame_nr;         // 12: block_size / frame_size * block_nr
 * unsigned int tp_retire_blk_tov;   // 16: ms before a block that is not full is retired
 * unsigned int tp_sizeof_priv;      // 20
 * unsigned int tp_feature_req_word; // 24
 * ```
 */
export const TPACKET_REQ3 = {
  size: 28,
  blockSize: 0,
  blockNumber: 4,
  frameSize: 8,
  frameNumber: 12,
  retireTimeout: 16,
  privateSize: 20,
  features: 24,
} as const;

/**
 * struct tpacket_block_desc with its struct tpacket_hdr_v1 (48 bytes at the start of a block):
 * ```c
 * __u32 version;             // 0
 * __u32 offset_to_priv;      // 4
 * __u32 block_status;        // 8: TP_STATUS_KERNEL or TP_STATUS_USER
 * __u32 num_pkts;            // 12
 * __u32 offset_to_first_pkt; // 16
 * __u32 blk_len;             // 20
 * __aligned_u64 seq_num;     // 24
 * struct tpacket_bd_ts ts_first_pkt, ts_last_pkt; // 32, 40
 * ```
 */
export const TPACKET_BLOCK_DESC = { status: 8, packets: 12, firstPacket: 16, length: 20 } as const;

/**
 * struct tpacket3_hdr (48 bytes), in front of each frame, followed by a struct sockaddr_ll:
 * ```c
 * __u32 tp_next_offset; // 0: from this header to the next one's, 0 for the block's last
 * __u32 tp_sec;         // 4
 * __u32 tp_nsec;        // 8
 * __u32 tp_snaplen;     // 12: bytes captured
 * __u32 tp_len;         // 16: bytes on the wire
 * __u32 tp_status;      // 20
 * __u16 tp_mac;         // 24: from this header to the link-layer header
 * __u16 tp_net;         // 26: from this header to the network header
 * __u32 tp_rxhash;      // 28 (struct tpacket_hdr_variant1)
 * __u32 tp_vlan_tci;    // 32
 * __u16 tp_vlan_tpid;   // 36
 * __u16 tp_padding;     // 38
 * __u8  tp_padding[8];  // 40
 * // struct sockaddr_ll at TPACKET_ALIGN(sizeof(struct tpacket3_hdr)) = 48
 * ```
 */
export const TPACKET3_HDR = {
  size: 48,
  nextOffset: 0,
  sec: 4,
  nsec: 8,
  snaplen: 12,
  len: 16,
  status: 20,
  mac: 24,
  net: 26,
  vlanTci: 32,
  vlanTpid: 36,
  address: 48,
} as const;

// ---------------------------------------------------------------------------------------------
// Sending (send_socket.ts): raw IPv4 and IPv6 sockets with the header included, and AF_PACKET.

/** Address family of IPv6. */
export const AF_INET6 = 10;
/** Protocol of a raw socket that sends whole IP packets and receives none. */
export const IPPROTO_RAW = 255;
/** Socket option level of IPv4 (SOL_IP). */
export const SOL_IP = 0;
/** IPv4 option: the caller writes the IP header (implied by IPPROTO_RAW, set anyway). */
export const IP_HDRINCL = 3;
/** Socket option: send through (and receive from) this interface only; its name as the value. */
export const SO_BINDTODEVICE = 25;

/**
 * struct sockaddr_in (16 bytes):
 * ```c
 * sa_family_t    sin_family; // 0
 * in_port_t      sin_port;   // 2 (network order; 0 for raw sockets)
 * struct in_addr sin_addr;   // 4 (network order)
 * unsigned char  sin_zero[8]; // 8
 * ```
 */
export const SOCKADDR_IN = { size: 16, family: 0, port: 2, addr: 4 } as const;

/**
 * struct sockaddr_in6 (28 bytes):
 * ```c
 * sa_family_t     sin6_family;   // 0
 * in_port_t       sin6_port;     // 2
 * uint32_t        sin6_flowinfo; // 4
 * struct in6_addr sin6_addr;     // 8
 * uint32_t        sin6_scope_id; // 24: the interface of a link-local address
 * ```
 */
export const SOCKADDR_IN6 = {
  size: 28,
  family: 0,
  port: 2,
  flowinfo: 4,
  addr: 8,
  scopeId: 24,
} as const;
