<?php
// PHP's imap extension asking a server mailbox ($BOX, with $IMAP_USER and
// $IMAP_PASSWORD) for searches, sorts and threads: one answer a line, so
// the same script on two servers (or one with SORT and THREAD hidden) can
// be compared line for line.
$box = getenv("BOX");
$s = imap_open($box, getenv("IMAP_USER"), getenv("IMAP_PASSWORD"), 0, 0);
if (!$s) { echo "open failed: ", imap_last_error(), "\n"; exit(1); }
$searches = ["ALL", "SUBJECT lunch", "FROM alice", "UNSEEN", "FLAGGED", "SEEN UNANSWERED",
             "TEXT zebra", "SINCE 3-Nov-2026", "BEFORE 3-Nov-2026", "TO nobody", "NEW"];
foreach ($searches as $c)
    echo "search $c: ", json_encode(imap_search($s, $c)), "\n";
echo "search utf-8: ", json_encode(imap_search($s, "BODY \"caf\u{e9}\"", 0, "UTF-8")), "\n";
$sorts = ["date" => SORTDATE, "arrival" => SORTARRIVAL, "from" => SORTFROM,
          "subject" => SORTSUBJECT, "to" => SORTTO, "size" => SORTSIZE];
foreach ($sorts as $name => $k) {
    echo "sort $name: ", json_encode(imap_sort($s, $k, 0)), "\n";
    echo "sort reverse $name: ", json_encode(imap_sort($s, $k, 1)), "\n";
}
echo "sort unseen subject: ", json_encode(imap_sort($s, SORTSUBJECT, 0, 0, "UNSEEN")), "\n";
echo "sort uid date: ", json_encode(imap_sort($s, SORTDATE, 0, SE_UID)), "\n";
echo "thread: ", json_encode(imap_thread($s)), "\n";
echo "thread uid: ", json_encode(imap_thread($s, SE_UID)), "\n";
imap_close($s);
echo "errors: ", json_encode(imap_errors()), "\n";
