<?php
// PHP's imap extension on a mailbox of a server ($BOX, "{host:port/ssl}INBOX",
// with $IMAP_USER and $IMAP_PASSWORD): what a webmail does first.
$box = getenv("BOX");
$s = imap_open($box, getenv("IMAP_USER"), getenv("IMAP_PASSWORD"), 0, 0);
if (!$s) { echo "open failed: ", imap_last_error(), "\n"; exit(1); }
$c = imap_check($s);
echo "check: ", $c->Nmsgs, " ", $c->Driver, "\n";
$st = imap_status($s, $box, SA_MESSAGES | SA_UNSEEN | SA_UIDNEXT);
echo "status: ", $st->messages, " ", $st->unseen, " ", $st->uidnext, "\n";
echo "list: ", json_encode(imap_list($s, preg_replace('/}.*/', '}', $box), "*")), "\n";
echo "search: ", json_encode(imap_search($s, "SUBJECT report")), "\n";
echo "sort: ", json_encode(imap_sort($s, SORTARRIVAL, 1)), "\n";
echo "header: ", imap_headerinfo($s, 1)->subject, "\n";
echo "body: ", json_encode(imap_body($s, 2, FT_PEEK)), "\n";
echo "flag: ", var_export(imap_setflag_full($s, "2", "\\Flagged"), true), "\n";
echo "flags: ", json_encode(array_map(fn($o) => [$o->uid, $o->flagged], imap_fetch_overview($s, "1:2"))), "\n";
imap_close($s);
echo "errors: ", json_encode(imap_errors()), "\n";
