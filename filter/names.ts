/**
 * The names a filter may use for ports, IP protocols and EtherTypes. libpcap asks the system
 * (/etc/services, /etc/protocols) and its own tables; snout is pure, so it carries a copy of the
 * entries of Debian's netbase that people type, and libpcap's EtherType and LLC tables.
 *
 * @module
 */

/** Transport protocols a service name is defined for. */
export type ServiceProtocols = "tcp" | "udp" | "both";

/** Service names (/etc/services): port and the protocols the name is defined for. */
export const SERVICES: ReadonlyMap<string, readonly [number, ServiceProtocols]> = new Map([
  ["ftp-data", [20, "tcp"]],
  ["ftp", [21, "tcp"]],
  ["ssh", [22, "tcp"]],
  ["telnet", [23, "tcp"]],
  ["smtp", [25, "tcp"]],
  ["domain", [53, "both"]],
  ["bootps", [67, "udp"]],
  ["bootpc", [68, "udp"]],
  ["tftp", [69, "udp"]],
  ["http", [80, "tcp"]],
  ["www", [80, "tcp"]],
  ["kerberos", [88, "both"]],
  ["pop3", [110, "tcp"]],
  ["sunrpc", [111, "both"]],
  ["ntp", [123, "udp"]],
  ["netbios-ns", [137, "udp"]],
  ["netbios-dgm", [138, "udp"]],
  ["netbios-ssn", [139, "tcp"]],
  ["imap", [143, "tcp"]],
  ["imap2", [143, "tcp"]],
  ["snmp", [161, "both"]],
  ["snmp-trap", [162, "both"]],
  ["bgp", [179, "tcp"]],
  ["ldap", [389, "both"]],
  ["https", [443, "both"]],
  ["microsoft-ds", [445, "tcp"]],
  ["isakmp", [500, "udp"]],
  ["syslog", [514, "udp"]],
  ["submission", [587, "tcp"]],
  ["ldaps", [636, "both"]],
  ["rsync", [873, "tcp"]],
  ["imaps", [993, "tcp"]],
  ["pop3s", [995, "tcp"]],
  ["openvpn", [1194, "both"]],
  ["mysql", [3306, "tcp"]],
  ["sip", [5060, "both"]],
  ["xmpp-client", [5222, "tcp"]],
  ["postgresql", [5432, "tcp"]],
  ["http-alt", [8080, "tcp"]],
]);

/** IP protocol names (/etc/protocols), for `ip proto \tcp`. */
export const IP_PROTOCOLS: ReadonlyMap<string, number> = new Map([
  ["ip", 0],
  ["icmp", 1],
  ["igmp", 2],
  ["tcp", 6],
  ["egp", 8],
  ["udp", 17],
  ["ipv6", 41],
  ["ipv6-route", 43],
  ["ipv6-frag", 44],
  ["rsvp", 46],
  ["gre", 47],
  ["esp", 50],
  ["ah", 51],
  ["ipv6-icmp", 58],
  ["ipv6-nonxt", 59],
  ["ipv6-opts", 60],
  ["ospf", 89],
  ["ipip", 94],
  ["pim", 103],
  ["vrrp", 112],
  ["l2tp", 115],
  ["isis", 124],
  ["sctp", 132],
  ["udplite", 136],
]);

/** EtherType names (libpcap's eproto_db) and LLC SAP names, for `ether proto \arp`. */
export const ETHER_PROTOCOLS: ReadonlyMap<string, number> = new Map([
  ["aarp", 0x80f3],
  ["arp", 0x0806],
  ["atalk", 0x809b],
  ["decnet", 0x6003],
  ["ip", 0x0800],
  ["ip6", 0x86dd],
  ["lat", 0x6004],
  ["loopback", 0x9000],
  ["mopdl", 0x6001],
  ["moprc", 0x6002],
  ["rarp", 0x8035],
  ["sca", 0x6007],
  ["iso", 0xfe],
  ["stp", 0x42],
  ["ipx", 0xe0],
  ["netbeui", 0xf0],
]);
