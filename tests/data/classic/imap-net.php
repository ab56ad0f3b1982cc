<?php
// PHP's imap extension on a mailbox of a server ($BOX, "{host:port/ssl}INBOX",
// with $IMAP_USER and $IMAP_PASSWORD): what a webmail does first, and
// with $WRITE an append and an expunge, with $UIDS each message's UID and
// the UIDVALIDITY (what a webmail keeps between pages).
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
if (getenv("WRITE")) {   // an IMAP server's mailbox: append, then expunge one
    $msg = "From: PHP <php@example.org>\r\nSubject: appended\r\n\r\nAppended body.\r\n";
    echo "append: ", var_export(imap_append($s, $box, $msg, "\\Seen"), true), "\n";
    echo "after append: ", imap_num_msg($s), " ", imap_headerinfo($s, imap_num_msg($s))->subject, "\n";
    imap_delete($s, "1");
    echo "expunge: ", var_export(imap_expunge($s), true), "\n";
    echo "after expunge: ", json_encode(array_map(fn($o) => [$o->uid, $o->subject],
                                                 imap_fetch_overview($s, "1:*"))), "\n";
}
if (getenv("UIDS")) {
    echo "uids: ", json_encode(array_map(fn($n) => imap_uid($s, $n), range(1, imap_num_msg($s)))),
         " ", imap_status($s, $box, SA_UIDVALIDITY)->uidvalidity, "\n";
}
imap_close($s);
echo "errors: ", json_encode(imap_errors()), "\n";
