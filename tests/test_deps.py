# The README promises that `make check` alone sets a fresh Debian machine up:
# every program the tests start and every Python module they import must come
# from the packages src/deps.sh installs (or what those pull in, or what every
# Debian system has). A test that starts a new tool without adding its package
# fails here, on this machine, instead of on the next fresh one.
import os
import re
import shutil
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = os.path.join(REPO, "tests")
SEARCH_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# A string literal that could name a program: a bare command name or an
# absolute path into a system bin directory.
LITERAL = re.compile(r"""["']((?:/usr)?/s?bin/[A-Za-z0-9._+-]+|[a-z][a-z0-9._+-]{1,40})["']""")
# Literals that name a program by accident (a MIME subtype, an option value).
NOT_PROGRAMS = {"zip", "ip"}  # "ip": fail2ban-regex -o ip
# "from X import" only where an import follows: a docstring line may begin "from a ..."
IMPORT = re.compile(r"^\s*(?:import\s+|from\s+(?=[\w.]+\s+import\b))([A-Za-z_][A-Za-z0-9_]*)", re.M)


def sources():
    for top, _, files in os.walk(TESTS):
        for f in files:
            if f.endswith(".py"):
                p = os.path.join(top, f)
                with open(p, encoding="utf-8") as fh:
                    yield p, fh.read()


def listed_packages():
    out = subprocess.run(["bash", os.path.join(REPO, "src", "deps.sh"), "--list", "check"],
                         check=True, capture_output=True, text=True).stdout
    return set(out.split())


def installed_index():
    """name -> (depends names, essential) for every installed package, and
    virtual name -> providers."""
    out = subprocess.run(["dpkg-query", "-W", "-f",
                          "${Package}\t${Essential}\t${Priority}\t${Pre-Depends}, "
                          "${Depends}\t${Provides}\t${db:Status-Abbrev}\n"],
                         check=True, capture_output=True, text=True).stdout
    deps, base, provides = {}, set(), {}
    for line in out.splitlines():
        name, essential, prio, dep, prov, status = line.split("\t")
        if not status.startswith("ii"):
            continue
        names = set()
        for alt in re.split(r"[,|]", dep):
            alt = alt.strip().split(" ")[0].split(":")[0]
            if alt:
                names.add(alt)
        deps[name] = names
        if essential == "yes" or prio == "required":
            base.add(name)
        for v in prov.split(","):
            v = v.strip().split(" ")[0].split(":")[0]
            if v:
                provides.setdefault(v, set()).add(name)
    return deps, base, provides


def closure(roots, deps, provides):
    seen, todo = set(), list(roots)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        todo.extend(deps.get(p, ()))
        todo.extend(provides.get(p, ()))
    return seen


def owner(path):
    r = subprocess.run(["dpkg-query", "-S", path], capture_output=True, text=True)
    if r.returncode != 0:
        # /bin is a link to /usr/bin on Debian 12: dpkg may know either name
        alt = path[4:] if path.startswith("/usr/") else "/usr" + path
        r = subprocess.run(["dpkg-query", "-S", alt], capture_output=True, text=True)
    if r.returncode != 0:
        return None
    return {p.strip().split(":")[0] for p in r.stdout.split(": ", 1)[0].split(",")}


def programs_used():
    found = {}
    for path, text in sources():
        for word in set(LITERAL.findall(text)) - NOT_PROGRAMS:
            exe = word if word.startswith("/") else shutil.which(word, path=SEARCH_PATH)
            if exe and os.path.isfile(exe) and os.access(exe, os.X_OK):
                found.setdefault(os.path.realpath(exe), set()).add(os.path.relpath(path, REPO))
    return found


def modules_used():
    local = {os.path.splitext(f)[0] for _, _, fs in os.walk(TESTS) for f in fs}
    local |= {"helpers", "conftest"}
    mods = {}
    for path, text in sources():
        for m in IMPORT.findall(text):
            if m not in sys.stdlib_module_names and m not in local:
                mods.setdefault(m, set()).add(os.path.relpath(path, REPO))
    return mods


def test_installer_covers_every_program_and_module_the_tests_use():
    deps, base, provides = installed_index()
    have = closure(listed_packages() | base, deps, provides)
    missing = []
    for exe, users in sorted(programs_used().items()):
        pkgs = owner(exe)
        if pkgs is None:
            continue    # not from a package (the project's own build, /opt copies)
        if not pkgs & have:
            missing.append("%s (package %s), used by %s" %
                           (exe, "/".join(sorted(pkgs)), ", ".join(sorted(users))))
    for mod, users in sorted(modules_used().items()):
        spec = __import__(mod)
        pkgs = owner(os.path.realpath(getattr(spec, "__file__", "") or mod))
        if pkgs is None or not pkgs & have:
            missing.append("python module %s (package %s), used by %s" %
                           (mod, pkgs and "/".join(sorted(pkgs)), ", ".join(sorted(users))))
    assert not missing, "add to src/deps.sh:\n" + "\n".join(missing)


def test_the_check_finds_what_the_tests_call():
    """The scan itself must see the tools we know the tests run, or the test
    above would pass by finding nothing."""
    progs = {os.path.basename(p) for p in programs_used()}
    for name in ("curl", "openssl", "dotlockfile", "xinetd", "mutt", "mbsync", "fetchmail"):
        assert name in progs, name
    assert {"pytest", "cryptography"} <= set(modules_used())
