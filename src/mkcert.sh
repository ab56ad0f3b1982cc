#!/bin/sh
# mkcert.sh: make a throwaway self-signed certificate for the daemons, in the
# place they look for it: SSLDIR/certs/<daemon>.pem holding key and
# certificate, mode 0600. For testing only: mail clients will warn about it.
# usage: mkcert.sh SSLDIR [daemon...]   (FORCE=1 replaces existing files)
set -eu

ssldir=${1:-/usr/local/ssl}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] || set -- imapd ipop3d
host=$(hostname -f 2>/dev/null || hostname)
days=${DAYS:-365}

command -v openssl >/dev/null || { echo "mkcert: openssl is needed (apt-get install openssl)" >&2; exit 1; }
umask 077
mkdir -p "$ssldir/certs" "$ssldir/private"
chmod 755 "$ssldir/certs"
chmod 700 "$ssldir/private"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for daemon in "$@"; do
	pem="$ssldir/certs/$daemon.pem"
	if [ -e "$pem" ] && [ "${FORCE:-0}" != 1 ]; then
		echo "mkcert: $pem exists, left alone (FORCE=1 replaces it)"
		continue
	fi
	openssl req -x509 -newkey rsa:2048 -nodes -days "$days" -sha256 \
		-subj "/CN=$host" \
		-addext "subjectAltName=DNS:$host,DNS:localhost,IP:127.0.0.1,IP:::1" \
		-keyout "$tmp/key" -out "$tmp/cert" 2>/dev/null
	cat "$tmp/key" "$tmp/cert" >"$pem.new"
	chmod 600 "$pem.new"
	[ "$(id -u)" = 0 ] && chown 0:0 "$pem.new"
	mv "$pem.new" "$pem"
	echo "mkcert: wrote $pem (self-signed for $host, $days days)"
done
echo "mkcert: FOR TESTING ONLY. Clients will warn that the certificate is not"
echo "        trusted. For real use get one from a CA (e.g. certbot) and set"
echo "        tls_cert = .../fullchain.pem and tls_key = .../privkey.pem."
