#!/bin/bash
# deps.sh SET...: install the Debian packages a task needs, and nothing when
# they are already there. One list for `make demo`, `make check`, `make fuzz`
# and .ci/run, so a fresh machine needs no step the README does not name.
#   build  compile the library and daemons
#   demo   build + what `make demo` runs (systemd-socket-activate, curl)
#   check  build + every program the tests start (PAM users, super-servers,
#          Dovecot, real clients, clang for the fuzz harnesses)
# deps.sh --list SET... prints the packages instead (tests/test_deps.py
# checks that every program and module the tests use comes from them).
set -euo pipefail
list=
[ "${1:-}" != --list ] || { list=1; shift; }

build=(build-essential make gcc libc6-dev libssl-dev libpam0g-dev liblockfile-dev
	liblockfile-bin openssl
	zlib1g-dev
	libidn-dev)   # SASLprep (RFC 4013) in the SASL client
demo=(curl systemd libpam-modules libpam-runtime passwd)
check=(
	login util-linux procps netbase  # setpriv/runuser, /proc tools, /etc/services names
	xinetd                    # a real super-server (openbsd-inetd is unpacked below)
	tcpd                      # TCP wrappers in an inetd.conf line, as the classic guide has it
	python3 python3-pytest
	dovecot-imapd dovecot-pop3d  # the reference of the differential tests and `make bench`
	fetchmail mutt isync      # real clients
	offlineimap               # test_imap_compress: a second client that compresses
	fail2ban                  # its uwimap-auth filter must match our log lines
	python3-cryptography      # the TLS tests build certificates of every broken kind
	testssl.sh                # audits the imaps listener
	clang libclang-rt-14-dev  # make fuzz (libFuzzer) runs in CI for a bounded time
	git                       # the upgrade test builds the previous version from history
	postfix                   # test_postfix: a private instance delivers through tmail
	nmh                       # test_mh: inc, scan, mark, refile on the folders imapd serves
	uw-mailutils              # test_mh, test_mbx, test_mix: UW imap-2007f's mailutil on our files;
	                          # test_classic_abi: the same program run on our libc-client.so.2007e
	pkg-config                # test_install: a classic program built with our c-client.pc
	mailsync                  # test_classic_abi: another program linked to libc-client.so.2007e
	php8.2-cli php8.2-imap    # test_classic_abi: PHP's imap extension on our library
	inn2                      # test_nntp_client: INN's nnrpd on a private spool
	libc-client2007e-dev      # test_classic_smtp: the same classic program built on Debian's library
	strace                    # test_client_flags: /norsh runs no program (no execve)
)

want=()
for set in "$@"; do
	case $set in
	build) want+=("${build[@]}") ;;
	demo) want+=("${build[@]}" "${demo[@]}") ;;
	check) want+=("${build[@]}" "${demo[@]}" "${check[@]}") ;;
	*) echo "deps.sh: unknown set '$set' (build, demo, check)" >&2; exit 2 ;;
	esac
done

if [ -n "$list" ]; then
	printf '%s\n' "${want[@]}" | sort -u
	exit 0
fi

need=()
for pkg in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
inetd=/opt/openbsd-inetd/usr/sbin/inetd
[[ " $* " != *" check "* || -x $inetd ]] || need_inetd=1

if [ ${#need[@]} -eq 0 ] && [ -z "${need_inetd:-}" ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing Debian packages: ${need[*]:-openbsd-inetd}" >&2
	echo "deps.sh: run this as root, or: apt-get install ${need[*]:-openbsd-inetd}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if [ ${#need[@]} -gt 0 ]; then
	echo "deps.sh: installing ${need[*]}"
	apt-get update -qq
	# Postfix unconfigured: no system MTA is set up or started by this;
	# the tests run private instances of their own
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null || inn2_fix=1
fi
# inn2's setup stops at a host name without a domain, then at newaliases
# (Postfix unconfigured): name a domain and finish it (no server is started)
if [ -n "${inn2_fix:-}" ]; then
	sed -i 's/^#domain:.*/domain: localdomain/' /etc/news/inn.conf
	dpkg --configure -a >/dev/null 2>&1 || dpkg --configure -a >/dev/null
fi
# openbsd-inetd conflicts with xinetd in Debian, so the launcher tests run an
# unpacked copy of it rather than an installed one.
if [ -n "${need_inetd:-}" ]; then
	tmp=$(mktemp -d)
	(cd "$tmp" && apt-get download -qq openbsd-inetd && dpkg-deb -x openbsd-inetd_*.deb /opt/openbsd-inetd)
	rm -rf "$tmp"
fi
