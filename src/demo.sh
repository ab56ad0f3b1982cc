#!/bin/bash
# demo.sh: the README's first command (`make demo`). On a fresh Debian
# machine, as root: install what is needed, build, create a demo user with a
# few messages, and serve IMAP on loopback under systemd-socket-activate
# until Ctrl-C. Everything it creates is for trying the server out.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

if [ "$(id -u)" != 0 ]; then
	echo "demo: run this as root (it creates a demo user and a PAM service file)." >&2
	exit 1
fi

need=()
for pkg in build-essential libssl-dev libpam0g-dev liblockfile-dev liblockfile-bin curl systemd openssl; do
	dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
	echo "demo: installing ${need[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

make -s all

user=demo
pass=demo
if ! id "$user" >/dev/null 2>&1; then
	useradd -m -s /usr/sbin/nologin "$user"
fi
echo "$user:$pass" | chpasswd

if [ ! -e /etc/pam.d/imap ]; then
	install -m 0644 docs/examples/pam.d/imap /etc/pam.d/imap
	echo "demo: installed /etc/pam.d/imap"
fi

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
mkdir -p "$(dirname "$conf")"
cat >"$conf" <<CONF
# demo configuration: loopback only, so plaintext passwords are acceptable
spool_dir = $spool
allow_plaintext = yes
CONF

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=143
port_free $port || port=10143
port_free $port || { echo "demo: ports 143 and 10143 are both taken" >&2; exit 1; }

systemd-socket-activate --inetd -a -l "127.0.0.1:$port" "$top/imapd/imapd" --config "$conf" &
launcher=$!
trap 'kill $launcher 2>/dev/null; wait $launcher 2>/dev/null; echo; echo "demo: stopped"; exit 0' INT TERM
sleep 0.5

cat <<MSG

IMAP is being served on 127.0.0.1:$port (user "$user", password "$pass").
Try it:
  curl --user $user:$pass imap://127.0.0.1:$port/INBOX -X 'FETCH 1:* (FLAGS ENVELOPE)'
  curl --user $user:$pass 'imap://127.0.0.1:$port/INBOX;UID=1'
  mutt -f imap://$user@127.0.0.1:$port/INBOX
  Thunderbird: server 127.0.0.1, port $port, no encryption, normal password.
Press Ctrl-C to stop.
MSG
wait $launcher
