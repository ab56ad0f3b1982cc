# The classic ABI (issue 13), shown field by field rather than through a
# program that happens to run: every structure Debian's libc-client2007e-dev
# headers define has the same size, and each field the same offset and size
# (each bit field the same bits), in our classic headers; and every data
# object those headers declare is in our shared library with Debian's size
# (a program's copy relocation copies exactly that many bytes).
import os
import re
import subprocess

import pytest

from test_classic_abi import LIBDIR

HERE = os.path.dirname(os.path.abspath(__file__))
OURS = os.path.join(os.path.dirname(HERE), "c-client")
DEBIAN = "/usr/include/c-client"
DEBIAN_SO = "/usr/lib/libc-client.so.2007e"
# the headers the issue names whose structures programs use
STRUCT_HEADERS = ("mail.h", "rfc822.h", "smtp.h", "nntp.h", "utf8.h", "misc.h")


def clean(path):
    """A header's text without comments, continuation lines and directives,
    and its `#define NAME struct tag` aliases."""
    with open(path) as f:
        text = re.sub(r"/\*.*?\*/", " ", f.read(), flags=re.S).replace("\\\n", " ")
    aliases = dict(re.findall(r"^\s*#\s*define\s+(\w+)\s+((?:struct|union)\s+\w+)\s*$",
                              text, flags=re.M))
    return re.sub(r"^\s*#.*$", "", text, flags=re.M), aliases


def closing(text, start):
    """The index of the brace closing the one at start."""
    depth = 0
    for i in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return i
    raise ValueError("unbalanced braces")


def split_top(text, sep):
    """text cut at each sep outside braces and parentheses."""
    parts, depth, cur = [], 0, ""
    for c in text:
        depth += {"{": 1, "(": 1, "}": -1, ")": -1}.get(c, 0)
        if c == sep and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += c
    return parts + [cur]


def fields(body, prefix=""):
    """(path, is_bitfield) of each member of a structure body, nested
    structures and unions entered with their member's path."""
    out = []
    for decl in (d.strip() for d in split_top(body, ";")):
        if "{" in decl:
            open_ = decl.index("{")
            end = closing(decl, open_)
            name = decl[end + 1:].strip()
            out.append((prefix + name, False))
            out += fields(decl[open_ + 1:end], prefix + name + ".")
            continue
        for d in (x.strip() for x in split_top(decl, ",") if x.strip()):
            bit = re.search(r":\s*\w+$", d)
            d = re.sub(r":\s*\w+$", "", re.sub(r"\[[^]]*\]", "", d)).strip()
            fn = re.search(r"\(\s*\*\s*(\w+)\s*\)", d)
            out.append((prefix + (fn.group(1) if fn else re.search(r"(\w+)$", d).group(1)),
                        bool(bit)))
    return out


def structures():
    """{type name: fields} of every structure Debian's headers define, by
    the name programs write (the typedef or #define, else `struct tag`)."""
    found = {}
    for h in STRUCT_HEADERS:
        text, aliases = clean(os.path.join(DEBIAN, h))
        named = "|".join(map(re.escape, aliases)) or "(?!)"
        head = re.compile(r"(typedef\s+)?\b(struct|union)\s+(\w+)\s*\{|\b(%s)\s*\{" % named)
        pos = 0
        while True:
            m = head.search(text, pos)
            if not m:
                break
            end = closing(text, m.end() - 1)
            tail = re.match(r"\s*(\w+)\s*;", text[end + 1:])
            if m.group(1) and tail:
                name = tail.group(1)
            else:
                name = m.group(4) or "%s %s" % (m.group(2), m.group(3))
            found[name] = fields(text[m.end():end])
            pos = end + 1
    return found


def program(structs):
    """C that prints each structure's size and each field's place."""
    lines = ['#include <stddef.h>', '#include <stdio.h>', '#include <string.h>',
             '#include "c-client.h"',
             'static volatile unsigned long ones = ~0ul;',
             '/* the bytes a bit field set to all ones covers, and their bits */',
             'static void bits(const char *name, const unsigned char *p, size_t n)',
             '{', '\tprintf("%s", name);', '\tfor (size_t i = 0; i < n; i++)',
             '\t\tif (p[i]) printf(" %zu:%02x", i, p[i]);', '\tputchar(10);', '}',
             'int main(void)', '{']
    for t, fl in structs.items():
        lines.append('\tprintf("%s %%zu\\n", sizeof(%s));' % (t, t))
        for f, bit in fl:
            label = "%s.%s" % (t, f)
            if bit:
                lines.append('\t{ %s x; memset(&x, 0, sizeof x); x.%s = ones; '
                             'bits("%s", (const unsigned char *)&x, sizeof x); }'
                             % (t, f, label))
            else:
                lines.append('\tprintf("%s %%zu %%zu\\n", offsetof(%s, %s), sizeof(((%s *)0)->%s));'
                             % (label, t, f, t, f))
    return "\n".join(lines + ['\treturn 0;', '}', ''])


def layout(tmp_path, structs, include):
    """The program built on one set of headers, and its output."""
    src = tmp_path / "layout.c"
    src.write_text(program(structs))
    exe = str(tmp_path / ("layout-" + os.path.basename(include)))
    r = subprocess.run(["cc", "-w", "-I" + include, "-o", exe, str(src)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    assert r.returncode == 0, "%s: %s" % (include, r.stdout[-4000:])
    return subprocess.run([exe], stdout=subprocess.PIPE, text=True, check=True,
                          timeout=30).stdout.splitlines()


def test_every_structure_has_debian_s_layout(tmp_path):
    structs = structures()
    # the parser saw what it must, or it would compare nothing
    for name in ("MAILSTREAM", "MESSAGECACHE", "ENVELOPE", "ADDRESS", "BODY", "PARAMETER",
                 "PART", "STRINGLIST", "SEARCHPGM", "SEARCHSET", "SEARCHOR", "SORTPGM",
                 "THREADNODE", "MAILSTATUS", "DRIVER", "NETMBX", "SIZEDTEXT", "STRING",
                 "STRINGDRIVER", "OVERVIEW", "SENDSTREAM", "RFC822BUFFER", "CHARSET"):
        assert name in structs, name
    assert ("protocol.esmtp.dsn.notify.failure", True) in structs["SENDSTREAM"]
    assert ("user_flags", False) in structs["MAILSTREAM"]
    debian = layout(tmp_path, structs, DEBIAN)
    ours = layout(tmp_path, structs, OURS)
    assert "MAILSTREAM 528" in debian and "MESSAGECACHE.seen 182:02" in debian
    differ = ["%s (Debian) / %s (ours)" % (d, o) for d, o in zip(debian, ours) if d != o]
    assert differ == [] and len(ours) == len(debian)


def data_objects(lib):
    """{name: size} of the data objects a shared library exports."""
    out = subprocess.run(["nm", "-S", "-D", "--defined-only", lib], stdout=subprocess.PIPE,
                         text=True, check=True).stdout
    return {f[3]: int(f[1], 16) for f in (line.split() for line in out.splitlines())
            if len(f) == 4 and f[2] in "BDRGSV"}


def declared():
    """The objects Debian's c-client.h (and what it includes) declares
    extern: what a program can name by including the classic headers."""
    names, todo, seen = set(), ["c-client.h"], set()
    while todo:
        h = todo.pop()
        if h in seen or not os.path.exists(os.path.join(DEBIAN, h)):
            continue
        seen.add(h)
        with open(os.path.join(DEBIAN, h)) as f:
            todo += re.findall(r'^\s*#\s*include\s+"([^"]+)"', f.read(), flags=re.M)
        text, _ = clean(os.path.join(DEBIAN, h))
        for decl in re.findall(r"\bextern\s+([^;{]*);", text):
            if "(" not in decl:
                names.update(re.search(r"(\w+)\s*(?:\[\w*\])?\s*$", d).group(1)
                             for d in decl.split(","))
    return names


def test_every_declared_object_is_exported_with_debian_s_size():
    lib = os.path.join(LIBDIR, "libc-client.so.1")
    assert os.path.exists(lib), "%s is missing: `make shared` builds it" % lib
    debian = data_objects(DEBIAN_SO)
    wanted = declared() & set(debian)
    for name in ("mixdriver", "mhdriver", "nntpdriver", "auth_log", "auth_pla", "mail_string",
                 "body_types", "days", "months"):
        assert name in wanted, name
    ours = data_objects(lib)
    wrong = {n: (debian[n], ours.get(n)) for n in sorted(wanted) if ours.get(n) != debian[n]}
    assert wrong == {}


def statements(h):
    """The top-level statements of one of Debian's headers, each on one
    line, structure bodies shown as {}."""
    text, _ = clean(os.path.join(DEBIAN, h))
    flat, depth = "", 0
    for c in text:
        if c == "{" and depth == 0:
            flat += "{}"
        depth += {"{": 1, "}": -1}.get(c, 0)
        if depth == 0 and c != "}":
            flat += c
    return [" ".join(s.split()) for s in split_top(flat, ";") if s.strip()]


def test_every_typedef_and_prototype_is_debian_s():
    """Each of Debian's typedefs of a scalar or function type names the same
    type in ours (the compiler compares them), and each function Debian
    declares, declared again as Debian wrote it after our headers, does not
    conflict with ours: same parameters, same return type."""
    typedefs, prototypes = [], []
    for h in STRUCT_HEADERS:
        for s in statements(h):
            if s.startswith("typedef") and "{" not in s:
                fn = re.search(r"\(\s*\*\s*(\w+)\s*\)", s)
                name = fn.group(1) if fn else re.search(r"(\w+)$", s).group(1)
                typedefs.append((name, re.sub(r"\b%s\b" % name, "deb_" + name, s)))
            elif re.match(r"[\w\s*]*?\b\w+\s*\(", s) and not s.startswith(("typedef", "extern")):
                prototypes.append(s)
    assert len(typedefs) >= 50 and len(prototypes) >= 300, (len(typedefs), len(prototypes))
    assert "MAILSTREAM *mail_close_full (MAILSTREAM *stream,long options)" in prototypes
    src = ['#include "c-client.h"']
    for name, deb in typedefs:
        src += [deb + ";", '_Static_assert(__builtin_types_compatible_p(%s, deb_%s), "%s");'
                % (name, name, name)]
    src += [p + ";" for p in prototypes]
    text = "\n".join(src) + "\n"
    for include in (DEBIAN, OURS):
        r = subprocess.run(["cc", "-fsyntax-only", "-w", "-I" + include, "-x", "c", "-"],
                           input=text, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=120)
        errors = [line for line in r.stdout.splitlines() if "error" in line]
        assert r.returncode == 0 and errors == [], (include, errors[:40])
