# Reopening an unchanged mbox: a second session's SELECT and LOGOUT write
# nothing, neither in the spool nor in the user's cache directory. The first
# session leaves all the next one needs (the index and its \Recent claim),
# so a reopen only reads, and pays for no file creation in its SELECT.
import os


def files_state(spool_file, cache):
    """{path: (inode, size, mtime_ns)} of the spool file and every file in
    the cache directory (the spool directory is shared with other users)."""
    paths = [spool_file] + [os.path.join(cache, n) for n in os.listdir(cache)]
    return {p: (st.st_ino, st.st_size, st.st_mtime_ns) for p, st in
            ((p, os.lstat(p)) for p in paths)}


def select_recent(open_to, server, user):
    """One session's SELECT INBOX, then LOGOUT -> (EXISTS, RECENT)."""
    c = open_to(server, user)
    r = c.command("SELECT INBOX")
    assert r.ok, r
    counts = r.numbered("EXISTS")[-1], r.numbered("RECENT")[-1]
    assert c.command("LOGOUT").ok
    return counts


def test_reopen_of_unchanged_mbox_writes_nothing(server, open_to, fresh, user, spool, sample):
    spool.write(user, sample)    # as delivered: no record, no index yet
    assert select_recent(open_to, server, user) == (len(sample), len(sample))
    cache = os.path.join(user.home, ".imapd-cache")
    before = files_state(spool.path(user), cache)
    assert select_recent(open_to, server, user) == (len(sample), 0)
    assert files_state(spool.path(user), cache) == before
