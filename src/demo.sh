#!/bin/bash
# demo.sh: the README's first command (`make demo`). On a fresh Debian
# machine, as root: install what is needed, build, create a demo user with a
# few messages and a throwaway certificate, and serve IMAP (143) and IMAPS
# (993) on loopback under systemd-socket-activate until Ctrl-C. Everything it
# creates is for trying the server out.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

if [ "$(id -u)" != 0 ]; then
	echo "demo: run this as root (it creates a demo user and a PAM service file)." >&2
	exit 1
fi

bash src/deps.sh demo

make -s all

# the unprivileged user that speaks to clients before login (make install
# creates it the same way)
if ! id uwimap >/dev/null 2>&1; then
	useradd --system --no-create-home --shell /usr/sbin/nologin uwimap
	echo "demo: created the system user uwimap"
fi

user=demo
pass=demo
if ! id "$user" >/dev/null 2>&1; then
	useradd -m -s /usr/sbin/nologin "$user"
fi
echo "$user:$pass" | chpasswd

for svc in imap pop; do
	if [ ! -e /etc/pam.d/$svc ]; then
		install -m 0644 docs/examples/pam.d/$svc /etc/pam.d/$svc
		echo "demo: installed /etc/pam.d/$svc"
	fi
done

spool=/var/mail
mkdir -p "$spool"
box="$spool/$user"
if [ ! -s "$box" ]; then
	{
		for i in 1 2 3; do
			printf 'From alice@example.org  Mon Nov 23 10:0%d:00 2026\n' "$i"
			printf 'From: Alice <alice@example.org>\nTo: %s@localhost\n' "$user"
			printf 'Subject: Demo message %d\nDate: Mon, 23 Nov 2026 10:0%d:00 +0000\n' "$i" "$i"
			printf 'Message-ID: <demo%d@example.org>\n\n' "$i"
			printf 'Hello, this is demo message number %d.\n\n' "$i"
		done
	} >"$box"
	chown "$user:mail" "$box"
	chmod 0660 "$box"
	echo "demo: wrote 3 messages to $box"
fi

conf="$top/build/demo/imapd.conf"
ssl="$top/build/demo/ssl"
mkdir -p "$(dirname "$conf")"
# a throwaway self-signed certificate, only for this demo
sh src/mkcert.sh "$ssl" imapd | sed 's/^mkcert:/demo:/'
sh src/mkcert.sh "$ssl" ipop3d | sed 's/^mkcert:/demo:/'
cat >"$conf" <<CONF
# demo configuration: loopback only, so plaintext passwords on port 143
# are acceptable here (never do this on a real network)
spool_dir = $spool
ssl_dir = $ssl
allow_plaintext = yes
CONF

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
	port_free "$1" && { echo "$1"; return; }
	port_free "$2" && { echo "$2"; return; }
	echo "demo: ports $1 and $2 are both taken" >&2
	exit 1
}
port=$(pick_port 143 10143)
sport=$(pick_port 993 10993)
pport=$(pick_port 110 10110)
psport=$(pick_port 995 10995)

pids=()
serve() {   # serve PORT PROGRAM ARGS...: one process per connection
	local p=$1
	shift
	systemd-socket-activate --inetd -a -l "127.0.0.1:$p" "$@" &
	pids+=($!)
}
serve "$port" "$top/imapd/imapd" --config "$conf"
serve "$sport" "$top/imapd/imapd" --tls --config "$conf"
serve "$pport" "$top/ipopd/ipop3d" --config "$conf"
serve "$psport" "$top/ipopd/ipop3d" --tls --config "$conf"
# Ctrl-C may already have ended the listeners: kill and wait may fail
trap 'kill "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true
      echo; echo "demo: stopped"; exit 0' INT TERM
sleep 0.5

cat <<MSG

IMAP is being served on 127.0.0.1:$port (plaintext or STARTTLS) and on
127.0.0.1:$sport (imaps, TLS from the first byte); POP3 on 127.0.0.1:$pport
(plaintext or STLS) and 127.0.0.1:$psport (pop3s); user "$user", password "$pass".
The certificate is self-signed (hence --insecure / -k below): testing only.
Try it:
  curl --user $user:$pass imap://127.0.0.1:$port/INBOX -X 'FETCH 1:* (FLAGS ENVELOPE)'
  curl --user $user:$pass 'imap://127.0.0.1:$port/INBOX;UID=1'
  curl --insecure --user $user:$pass imaps://127.0.0.1:$sport/INBOX -X 'FETCH 1:* (FLAGS)'
  curl --insecure --ssl-reqd --user $user:$pass imap://127.0.0.1:$port/INBOX -X 'EXAMINE INBOX'
  curl --insecure --user $user:$pass pop3s://127.0.0.1:$psport/1
  curl --user $user:$pass pop3://127.0.0.1:$pport/
  openssl s_client -quiet -connect 127.0.0.1:$sport          (then: a LOGIN $user $pass)
  openssl s_client -quiet -starttls imap -connect 127.0.0.1:$port
  $top/imapd/imapd --check --config $conf
  mutt -f imaps://$user@127.0.0.1:$sport/INBOX
  Thunderbird: server 127.0.0.1, port $sport, SSL/TLS, normal password
               (accept the certificate exception).
Press Ctrl-C to stop.
MSG
wait "${pids[@]}"
