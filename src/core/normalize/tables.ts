// Lookup tables the lexical normalizer embeds instead of reading /etc/protocols or
// /etc/services (it must stay pure). Protocol and service names are those of Debian 12's
// netbase package, which is what iptables resolves them with on a Debian host; a name not
// in these tables makes the normalizer report the rule as uncertain rather than guess.

/** /etc/protocols (netbase): number → canonical name, and every name or lower-case alias → number (iptables lower-cases
// the -p argument before getprotobyname, so upper-case aliases such as IP-ENCAP never match). */
const PROTOCOLS: ReadonlyArray<[number, string, ...string[]]> = [
  [0, 'ip'],
  [0, 'hopopt'],
  [1, 'icmp'],
  [2, 'igmp'],
  [3, 'ggp'],
  [4, 'ipencap'],
  [5, 'st'],
  [6, 'tcp'],
  [8, 'egp'],
  [9, 'igp'],
  [12, 'pup'],
  [17, 'udp'],
  [20, 'hmp'],
  [22, 'xns-idp'],
  [27, 'rdp'],
  [29, 'iso-tp4'],
  [33, 'dccp'],
  [36, 'xtp'],
  [37, 'ddp'],
  [38, 'idpr-cmtp'],
  [41, 'ipv6'],
  [43, 'ipv6-route'],
  [44, 'ipv6-frag'],
  [45, 'idrp'],
  [46, 'rsvp'],
  [47, 'gre'],
  [50, 'esp'],
  [51, 'ah'],
  [57, 'skip'],
  [58, 'ipv6-icmp'],
  [59, 'ipv6-nonxt'],
  [60, 'ipv6-opts'],
  [73, 'rspf'],
  [81, 'vmtp'],
  [88, 'eigrp'],
  [89, 'ospf'],
  [93, 'ax.25'],
  [94, 'ipip'],
  [97, 'etherip'],
  [98, 'encap'],
  [103, 'pim'],
  [108, 'ipcomp'],
  [112, 'vrrp'],
  [115, 'l2tp'],
  [124, 'isis'],
  [132, 'sctp'],
  [133, 'fc'],
  [135, 'mobility-header'],
  [136, 'udplite'],
  [137, 'mpls-in-ip'],
  [138, 'manet'],
  [139, 'hip'],
  [140, 'shim6'],
  [141, 'wesp'],
  [142, 'rohc'],
  [143, 'ethernet'],
  [262, 'mptcp'],
];

/** xtables_chain_protos: names iptables knows without /etc/protocols. */
const CHAIN_PROTOS: ReadonlyArray<[string, number]> = [
  ['tcp', 6], ['sctp', 132], ['udp', 17], ['udplite', 136], ['icmp', 1], ['icmpv6', 58],
  ['esp', 50], ['ah', 51], ['mh', 135], ['all', 0],
];

export const PROTO_NAME = new Map<number, string>();
export const PROTO_BY_NAME = new Map<string, number>();
for (const [num, name, ...aliases] of PROTOCOLS) {
  if (!PROTO_NAME.has(num)) PROTO_NAME.set(num, name);
  for (const n of [name, ...aliases]) if (!PROTO_BY_NAME.has(n)) PROTO_BY_NAME.set(n, num);
}
for (const [name, num] of CHAIN_PROTOS) if (!PROTO_BY_NAME.has(name)) PROTO_BY_NAME.set(name, num);

/** /etc/services (netbase), tcp and udp: name or alias → port. */
const SERVICES_TCP =
  'tcpmux=1 echo=7 discard=9 sink=9 null=9 systat=11 users=11 daytime=13 netstat=15 qotd=17 quote=17 ' +
  'chargen=19 ttytst=19 source=19 ftp-data=20 ftp=21 ssh=22 telnet=23 smtp=25 mail=25 time=37 ' +
  'timserver=37 whois=43 nicname=43 tacacs=49 domain=53 gopher=70 finger=79 http=80 www=80 kerberos=88 ' +
  'kerberos5=88 krb5=88 kerberos-sec=88 iso-tsap=102 tsap=102 acr-nema=104 dicom=104 pop3=110 ' +
  'pop-3=110 sunrpc=111 portmapper=111 auth=113 authentication=113 tap=113 ident=113 nntp=119 ' +
  'readnews=119 untp=119 epmap=135 loc-srv=135 netbios-ssn=139 imap2=143 imap=143 snmp=161 ' +
  'snmp-trap=162 snmptrap=162 cmip-man=163 cmip-agent=164 mailq=174 bgp=179 smux=199 qmtp=209 ' +
  'z3950=210 wais=210 pawserv=345 zserv=346 rpc2portmap=369 codaauth2=370 ldap=389 svrloc=427 ' +
  'https=443 snpp=444 microsoft-ds=445 kpasswd=464 submissions=465 ssmtp=465 smtps=465 urd=465 ' +
  'saft=487 rtsp=554 nqs=607 qmqp=628 ipp=631 ldp=646 exec=512 login=513 shell=514 cmd=514 syslog=514 ' +
  'printer=515 spooler=515 gdomap=538 uucp=540 uucpd=540 klogin=543 kshell=544 krcmd=544 ' +
  'afpovertcp=548 nntps=563 snntp=563 submission=587 ldaps=636 tinc=655 silc=706 kerberos-adm=749 ' +
  'domain-s=853 rsync=873 ftps-data=989 ftps=990 telnets=992 imaps=993 pop3s=995 socks=1080 ' +
  'proofd=1093 rootd=1094 openvpn=1194 rmiregistry=1099 lotusnote=1352 lotusnotes=1352 ms-sql-s=1433 ' +
  'ingreslock=1524 datametrics=1645 old-radius=1645 sa-msg-port=1646 old-radacct=1646 kermit=1649 ' +
  'groupwise=1677 radius=1812 radius-acct=1813 radacct=1813 cisco-sccp=2000 nfs=2049 gnunet=2086 ' +
  'rtcm-sc104=2101 gsigatekeeper=2119 gris=2135 cvspserver=2401 venus=2430 venus-se=2431 codasrv=2432 ' +
  'codasrv-se=2433 mon=2583 dict=2628 f5-globalsite=2792 gsiftp=2811 gpsd=2947 gds-db=3050 gds_db=3050 ' +
  'isns=3205 iscsi-target=3260 mysql=3306 ms-wbt-server=3389 nut=3493 distcc=3632 daap=3689 svn=3690 ' +
  'subversion=3690 suucp=4031 sysrqd=4094 sieve=4190 epmd=4369 remctl=4373 f5-iquery=4353 ntske=4460 ' +
  'mtn=4691 radmin-port=4899 sip=5060 sip-tls=5061 xmpp-client=5222 jabber-client=5222 ' +
  'xmpp-server=5269 jabber-server=5269 cfengine=5308 postgresql=5432 postgres=5432 freeciv=5556 ' +
  'rptp=5556 amqps=5671 amqp=5672 x11=6000 x11-0=6000 x11-1=6001 x11-2=6002 x11-3=6003 x11-4=6004 ' +
  'x11-5=6005 x11-6=6006 x11-7=6007 gnutella-svc=6346 gnutella-rtr=6347 redis=6379 sge-qmaster=6444 ' +
  'sge_qmaster=6444 sge-execd=6445 sge_execd=6445 mysql-proxy=6446 ircs-u=6697 bbs=7000 ' +
  'font-service=7100 xfs=7100 http-alt=8080 webcache=8080 puppet=8140 bacula-dir=9101 bacula-fd=9102 ' +
  'bacula-sd=9103 xmms2=9667 nbd=10809 zabbix-agent=10050 zabbix-trapper=10051 amanda=10080 ' +
  'dicom=11112 hkp=11371 db-lsp=17500 dcap=22125 gsidcap=22128 wnn6=22273 kerberos4=750 ' +
  'kerberos-iv=750 kdc=750 kerberos-master=751 krb-prop=754 krb_prop=754 krb5_prop=754 hprop=754 ' +
  'iprop=2121 supfilesrv=871 supfiledbg=1127 poppassd=106 moira-db=775 moira_db=775 moira-update=777 ' +
  'moira_update=777 spamd=783 skkserv=1178 rmtcfg=1236 xtel=1313 xtelw=1314 zebrasrv=2600 zebra=2601 ' +
  'ripd=2602 ripngd=2603 ospfd=2604 bgpd=2605 ospf6d=2606 ospfapi=2607 isisd=2608 fax=4557 ' +
  'hylafax=4559 munin=4949 lrrd=4949 nrpe=5666 nsca=5667 canna=5680 syslog-tls=6514 sane-port=6566 ' +
  'sane=6566 saned=6566 ircd=6667 zope-ftp=8021 tproxy=8081 omniorb=8088 clc-build-daemon=8990 ' +
  'xinetd=9098 git=9418 zope=9673 webmin=10000 kamanda=10081 amandaidx=10082 amidxtape=10083 ' +
  'sgi-cad=17004 binkp=24554 asp=27374 csync2=30865 dircproxy=57000 tfido=60177 fido=60179 ';
const SERVICES_UDP =
  'echo=7 discard=9 sink=9 null=9 daytime=13 chargen=19 ttytst=19 source=19 fsp=21 fspd=21 time=37 ' +
  'timserver=37 tacacs=49 domain=53 bootps=67 bootpc=68 tftp=69 kerberos=88 kerberos5=88 krb5=88 ' +
  'kerberos-sec=88 sunrpc=111 portmapper=111 ntp=123 netbios-ns=137 netbios-dgm=138 snmp=161 ' +
  'snmp-trap=162 snmptrap=162 cmip-man=163 cmip-agent=164 xdmcp=177 ipx=213 ptp-event=319 ' +
  'ptp-general=320 rpc2portmap=369 codaauth2=370 clearcase=371 Clearcase=371 ldap=389 svrloc=427 ' +
  'https=443 kpasswd=464 isakmp=500 rtsp=554 asf-rmcp=623 ldp=646 biff=512 comsat=512 who=513 whod=513 ' +
  'syslog=514 talk=517 ntalk=518 route=520 router=520 routed=520 gdomap=538 dhcpv6-client=546 ' +
  'dhcpv6-server=547 ldaps=636 tinc=655 domain-s=853 openvpn=1194 ms-sql-m=1434 datametrics=1645 ' +
  'old-radius=1645 sa-msg-port=1646 old-radacct=1646 l2f=1701 l2tp=1701 radius=1812 radius-acct=1813 ' +
  'radacct=1813 nfs=2049 gnunet=2086 rtcm-sc104=2101 venus=2430 venus-se=2431 codasrv=2432 ' +
  'codasrv-se=2433 mon=2583 icpv2=3130 icp=3130 isns=3205 nut=3493 ipsec-nat-t=4500 iax=4569 sip=5060 ' +
  'sip-tls=5061 mdns=5353 gnutella-svc=6346 gnutella-rtr=6347 babel=6696 afs3-fileserver=7000 ' +
  'afs3-callback=7001 afs3-prserver=7002 afs3-vlserver=7003 afs3-kaserver=7004 afs3-volser=7005 ' +
  'afs3-bos=7007 afs3-update=7008 afs3-rmtsys=7009 kerberos4=750 kerberos-iv=750 kdc=750 ' +
  'kerberos-master=751 kerberos_master=751 passwd-server=752 passwd_server=752 zephyr-srv=2102 ' +
  'zephyr-clt=2103 zephyr-hm=2104 moira-ureg=779 moira_ureg=779 predict=1210 rplay=5555 sgi-cmsd=17001 ' +
  'sgi-crsd=17002 sgi-gcd=17003 asp=27374 ';
function serviceMap(s: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const item of s.trim().split(/\s+/)) {
    const eq = item.lastIndexOf('=');
    const name = item.slice(0, eq);
    if (!m.has(name)) m.set(name, Number(item.slice(eq + 1)));
  }
  return m;
}

export const SERVICES: Readonly<Record<string, Map<string, number>>> = {
  tcp: serviceMap(SERVICES_TCP),
  udp: serviceMap(SERVICES_UDP),
};

/** libxt_icmp's ICMP type names: name → [type, codeMin, codeMax]. */
export const ICMP_TYPES = new Map<string, [number, number, number]>([
  ['any', [255, 0, 255]], ['echo-reply', [0, 0, 255]], ['pong', [0, 0, 255]],
  ['destination-unreachable', [3, 0, 255]], ['network-unreachable', [3, 0, 0]],
  ['host-unreachable', [3, 1, 1]], ['protocol-unreachable', [3, 2, 2]], ['port-unreachable', [3, 3, 3]],
  ['fragmentation-needed', [3, 4, 4]], ['source-route-failed', [3, 5, 5]], ['network-unknown', [3, 6, 6]],
  ['host-unknown', [3, 7, 7]], ['network-prohibited', [3, 9, 9]], ['host-prohibited', [3, 10, 10]],
  ['tos-network-unreachable', [3, 11, 11]], ['tos-host-unreachable', [3, 12, 12]],
  ['communication-prohibited', [3, 13, 13]], ['host-precedence-violation', [3, 14, 14]],
  ['precedence-cutoff', [3, 15, 15]], ['source-quench', [4, 0, 255]], ['redirect', [5, 0, 255]],
  ['network-redirect', [5, 0, 0]], ['host-redirect', [5, 1, 1]], ['tos-network-redirect', [5, 2, 2]],
  ['tos-host-redirect', [5, 3, 3]], ['echo-request', [8, 0, 255]], ['ping', [8, 0, 255]],
  ['router-advertisement', [9, 0, 255]], ['router-solicitation', [10, 0, 255]],
  ['time-exceeded', [11, 0, 255]], ['ttl-exceeded', [11, 0, 255]], ['ttl-zero-during-transit', [11, 0, 0]],
  ['ttl-zero-during-reassembly', [11, 1, 1]], ['parameter-problem', [12, 0, 255]],
  ['ip-header-bad', [12, 0, 0]], ['required-option-missing', [12, 1, 1]],
  ['timestamp-request', [13, 0, 255]], ['timestamp-reply', [14, 0, 255]],
  ['address-mask-request', [17, 0, 255]], ['address-mask-reply', [18, 0, 255]],
]);

/** libip6t_icmp6's ICMPv6 type names. */
export const ICMP6_TYPES = new Map<string, [number, number, number]>([
  ['destination-unreachable', [1, 0, 255]], ['no-route', [1, 0, 0]], ['communication-prohibited', [1, 1, 1]],
  ['beyond-scope', [1, 2, 2]], ['address-unreachable', [1, 3, 3]], ['port-unreachable', [1, 4, 4]],
  ['failed-policy', [1, 5, 5]], ['reject-route', [1, 6, 6]], ['packet-too-big', [2, 0, 255]],
  ['time-exceeded', [3, 0, 255]], ['ttl-exceeded', [3, 0, 255]], ['ttl-zero-during-transit', [3, 0, 0]],
  ['ttl-zero-during-reassembly', [3, 1, 1]], ['parameter-problem', [4, 0, 255]], ['bad-header', [4, 0, 0]],
  ['unknown-header-type', [4, 1, 1]], ['unknown-option', [4, 2, 2]], ['echo-request', [128, 0, 255]],
  ['ping', [128, 0, 255]], ['echo-reply', [129, 0, 255]], ['pong', [129, 0, 255]],
  ['router-solicitation', [133, 0, 255]], ['router-advertisement', [134, 0, 255]],
  ['neighbour-solicitation', [135, 0, 255]], ['neighbor-solicitation', [135, 0, 255]],
  ['neighbour-advertisement', [136, 0, 255]], ['neighbor-advertisement', [136, 0, 255]],
  ['redirect', [137, 0, 255]],
]);

/** REJECT --reject-with: name or alias → the name iptables-save prints. */
export const REJECT_WITH: Readonly<Record<'ipv4' | 'ipv6', Map<string, string>>> = {
  ipv4: new Map([
    ['icmp-net-unreachable', 'icmp-net-unreachable'], ['net-unreach', 'icmp-net-unreachable'],
    ['icmp-host-unreachable', 'icmp-host-unreachable'], ['host-unreach', 'icmp-host-unreachable'],
    ['icmp-proto-unreachable', 'icmp-proto-unreachable'], ['proto-unreach', 'icmp-proto-unreachable'],
    ['icmp-port-unreachable', 'icmp-port-unreachable'], ['port-unreach', 'icmp-port-unreachable'],
    ['icmp-net-prohibited', 'icmp-net-prohibited'], ['net-prohib', 'icmp-net-prohibited'],
    ['icmp-host-prohibited', 'icmp-host-prohibited'], ['host-prohib', 'icmp-host-prohibited'],
    ['tcp-reset', 'tcp-reset'], ['tcp-rst', 'tcp-reset'],
    ['icmp-admin-prohibited', 'icmp-admin-prohibited'], ['admin-prohib', 'icmp-admin-prohibited'],
  ]),
  ipv6: new Map([
    ['icmp6-no-route', 'icmp6-no-route'], ['no-route', 'icmp6-no-route'],
    ['icmp6-adm-prohibited', 'icmp6-adm-prohibited'], ['adm-prohibited', 'icmp6-adm-prohibited'],
    ['icmp6-addr-unreachable', 'icmp6-addr-unreachable'], ['addr-unreach', 'icmp6-addr-unreachable'],
    ['icmp6-port-unreachable', 'icmp6-port-unreachable'], ['port-unreach', 'icmp6-port-unreachable'],
    ['tcp-reset', 'tcp-reset'], ['tcp-rst', 'tcp-reset'],
    ['icmp6-policy-fail', 'icmp6-policy-fail'], ['policy-fail', 'icmp6-policy-fail'],
    ['icmp6-reject-route', 'icmp6-reject-route'], ['reject-route', 'icmp6-reject-route'],
  ]),
};

/** LOG --log-level names (syslog), → number; iptables-save prints the number, and nothing for 4. */
export const LOG_LEVELS = new Map<string, number>([
  ['emerg', 0], ['panic', 0], ['alert', 1], ['crit', 2], ['error', 3], ['warning', 4], ['notice', 5],
  ['info', 6], ['debug', 7],
]);
