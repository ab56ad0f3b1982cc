<?php
// The calls of PHP's imap extension (Debian's php8.2-imap, linked to
// libc-client.so.2007e) on a local mbox named by $BOX, one answer a line;
// tests/test_classic_abi.py runs it on our library and on Debian's.
$box = getenv("BOX");
$s = imap_open($box, "", "");
if (!$s) { echo "open failed: ", imap_last_error(), "\n"; exit(1); }
echo "check: "; $c = imap_check($s); echo $c->Nmsgs, " ", $c->Driver, " ", $c->Mailbox, "\n";
echo "num: ", imap_num_msg($s), " recent ", imap_num_recent($s), "\n";
echo "search: ", json_encode(imap_search($s, "FROM bob")), "\n";
echo "sort: ", json_encode(imap_sort($s, SORTSUBJECT, 0)), "\n";
$h = imap_headerinfo($s, 2);
echo "header: ", $h->subject, " | ", $h->fromaddress, " | ", $h->Unseen, $h->Flagged, "\n";
$st = imap_fetchstructure($s, 3);
echo "structure: ", $st->type, "/", $st->subtype, " parts ", count($st->parts ?? []), "\n";
echo "body 1: ", json_encode(imap_fetchbody($s, 3, "1", FT_PEEK)), "\n";
echo "body 2: ", json_encode(imap_fetchbody($s, 3, "2", FT_PEEK)), "\n";
echo "mime 2: ", json_encode(imap_fetchmime($s, 3, "2", FT_PEEK)), "\n";
echo "setflag: ", var_export(imap_setflag_full($s, "1", "\\Flagged"), true), "\n";
echo "overview: ", json_encode(array_map(fn($o) => [$o->msgno, $o->uid, $o->flagged, $o->seen, $o->subject], imap_fetch_overview($s, "1:3"))), "\n";
echo "append: ", var_export(imap_append($s, $box, "From: x@example.com\r\nSubject: appended\r\n\r\nnew body\r\n", "\\Seen"), true), "\n";
echo "delete+expunge: ", var_export(imap_delete($s, "2"), true), var_export(imap_expunge($s), true), "\n";
echo "after: ", imap_num_msg($s), "\n";
echo "thread: ", json_encode(imap_thread($s)), "\n";
echo "rfc822: ", json_encode(imap_rfc822_parse_adrlist("Fred Foo <fred@example.com>, joe", "example.org")), "\n";
echo "write: ", imap_rfc822_write_address("fred", "example.com", "Fred Foo"), "\n";
echo "mime2text: ", imap_utf8("=?ISO-8859-1?Q?Andr=E9?="), "\n";
echo "b64: ", imap_base64("aGVsbG8="), " ", imap_binary("hello"), "qp: ", imap_qprint("caf=C3=A9"), "\n";
imap_close($s);
echo "errors: ", json_encode(imap_errors()), "\n";
