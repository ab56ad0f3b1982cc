# Top-level build: c-client/libc-client.a, imapd/imapd, ipopd/*, src/*.
# Objects go under $(O) (default: next to the sources); `make asan` builds a
# sanitizer copy under build/asan for the tests.

CC       ?= gcc
SSLTYPE  ?= nopwd
SSLDIR   ?= /usr/local/ssl
PREFIX   ?= /usr/local
DESTDIR  ?=
SPOOLDIR ?= /var/spool/mail
SYSCONFDIR ?= /etc
CONFIG   ?= $(SYSCONFDIR)/imapd.conf
SBINDIR  ?= $(PREFIX)/sbin
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man
DOCDIR   ?= $(PREFIX)/share/doc/uw-imap
LIBDIR   ?= $(PREFIX)/lib
INCDIR   ?= $(PREFIX)/include/c-client
CFLAGS   ?= -O2 -g
O        ?= .
# Our pattern rule must build the objects; with O=. make would pick its
# built-in %.o: %.c instead (no flags, no -I).
MAKEFLAGS += --no-builtin-rules
VERSION  := 0.1.0

WARN     := -Wall -Wextra -Werror -Wno-unused-parameter
DEFS     := -D_GNU_SOURCE -DVERSION='"$(VERSION)"' -DSSLDIR='"$(SSLDIR)"' \
            -DSPOOLDIR='"$(SPOOLDIR)"' -DCONFIG_FILE='"$(CONFIG)"'

ifeq ($(SSLTYPE),none)
  DEFS   += -DSSLTYPE_NONE -DALLOW_PLAINTEXT_DEFAULT=1
  SSLLIBS :=
else ifeq ($(SSLTYPE),unix)
  DEFS   += -DALLOW_PLAINTEXT_DEFAULT=1
  SSLLIBS := -lssl -lcrypto
else ifeq ($(SSLTYPE),nopwd)
  # passwords only over TLS unless the configuration says allow_plaintext = yes
  DEFS   += -DALLOW_PLAINTEXT_DEFAULT=0
  SSLLIBS := -lssl -lcrypto
else
  $(error SSLTYPE must be nopwd, unix or none)
endif

ALL_CFLAGS = $(CFLAGS) $(EXTRA_CFLAGS) $(WARN) $(DEFS) -Ic-client
LIBS       = $(SSLLIBS) -lpam -llockfile -lz
# SASLprep (RFC 4013) of what the SASL client sends: libidn's stringprep
LIBS      += -lidn
LDFLAGS   ?=
ALL_LDFLAGS = $(LDFLAGS) $(EXTRA_LDFLAGS)

# linkage.c is the classic header programs #include, not a source of ours
CLIENT_SRC := $(filter-out c-client/linkage.c,$(wildcard c-client/*.c))
CLIENT_OBJ := $(CLIENT_SRC:%.c=$(O)/%.o)
IMAPD_SRC  := $(wildcard imapd/*.c)
IMAPD_OBJ  := $(IMAPD_SRC:%.c=$(O)/%.o)
# ipopd: ipop3d.c and ipop2d.c are the mains; pop_*.c is shared by both,
# pop3_*.c belongs to ipop3d alone.
POP_SHARED := $(patsubst %.c,$(O)/%.o,$(wildcard ipopd/pop_*.c))
POP3_OBJ   := $(O)/ipopd/ipop3d.o $(patsubst %.c,$(O)/%.o,$(wildcard ipopd/pop3_*.c)) $(POP_SHARED)
POP2_OBJ   := $(O)/ipopd/ipop2d.o $(POP_SHARED)
POP_BINS   := $(if $(wildcard ipopd/ipop3d.c),$(O)/ipopd/ipop3d) $(if $(wildcard ipopd/ipop2d.c),$(O)/ipopd/ipop2d)
UNIT_SRC   := $(wildcard tests/unit/test-*.c)
UNIT_BIN   := $(UNIT_SRC:%.c=$(O)/%)
LIB        := $(O)/c-client/libc-client.a
IMAPD_LIB  := $(O)/imapd/libimapd.a

.PHONY: deps all clean check unit asan pytest bench demo fuzz certs install uninstall shared \
	shared-asan

# Utilities in src/: each src/NAME.c is one program.
UTIL_BIN   := $(patsubst src/%.c,$(O)/src/%,$(wildcard src/*.c))

all: $(LIB) $(O)/c-client/c-client.a $(O)/c-client/LDFLAGS $(O)/imapd/imapd $(POP_BINS) $(UTIL_BIN)

# What a program linked to c-client.a needs besides it, in the file the
# classic build left beside the library (the installed c-client.pc says the
# same as Libs.private).
$(O)/c-client/LDFLAGS: Makefile $(O)/.build-flags
	@mkdir -p $(@D)
	echo '$(LIBS)' > $@

$(LIB): $(CLIENT_OBJ)
	@rm -f $@
	ar rcs $@ $^

# The classic guides copy the library from c-client/c-client.a, and build
# programs for the classic headers against it: so it is the classic
# interface (the object the shared library is made of), not the native one.
$(O)/c-client/c-client.a: $(O)/c-client/classic/classic.o
	rm -f $@
	$(AR) rcs $@ $<

# The classic toolkit's per-platform targets, as the old guides type them
# (`make slx SSLTYPE=unix`): on Linux every one of them is this same build.
CLASSIC_PORTS := slx lnp ldb lnx lrh lsu lmd lfd
.PHONY: $(CLASSIC_PORTS)
$(CLASSIC_PORTS):
	@echo "make $@: the classic port names all build the same thing now: make all SSLTYPE=$(SSLTYPE)"
	@$(MAKE) --no-print-directory all

$(O)/imapd/imapd: $(O)/imapd/main.o $(IMAPD_LIB) $(LIB)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(O)/imapd/main.o $(IMAPD_LIB) $(LIB) $(LIBS)

# The classic programming interface: a shared library that programs built
# for UW's libc-client.so.2007e load in its place (the name an administrator
# points them at is a link beside it). Its objects are position-independent
# copies under build/pic. Only the classic calls are exported: every native
# symbol is made local (the two interfaces share names such as mail_open),
# and the classic side reaches the native one through bridge.h.
SHLIB_SONAME := libc-client.so.1
SHLIB_COMPAT := libc-client.so.2007e
CLASSIC_OBJ  := $(patsubst %.c,$(O)/%.o,$(wildcard c-client/classic/cl_*.c))
shared:
	$(MAKE) O=build/pic EXTRA_CFLAGS="$(EXTRA_CFLAGS) -fPIC" build/pic/c-client/$(SHLIB_COMPAT)

# The same library under the sanitizers, for the tests that run Debian's
# programs on it (with libasan preloaded: the programs are not built with it).
shared-asan:
	$(MAKE) O=build/pic-asan EXTRA_CFLAGS="-fPIC $(SAN) -O1" EXTRA_LDFLAGS="$(SAN)" \
		build/pic-asan/c-client/$(SHLIB_COMPAT)

$(O)/c-client/$(SHLIB_COMPAT): $(O)/c-client/$(SHLIB_SONAME)
	ln -sf $(SHLIB_SONAME) $@

$(O)/c-client/$(SHLIB_SONAME): $(O)/c-client/classic/classic.o
	$(CC) $(ALL_LDFLAGS) -shared -Wl,-soname,$(SHLIB_SONAME) -o $@ $< $(LIBS)

# Two steps, since both sides define names such as mail_open: the native
# library and the bridge become one object whose only globals are the
# bridge's (clb_); that and the classic side become one whose only globals
# are the classic API (the cl_ helpers and the bridge become local too).
BRIDGE_OBJ := $(O)/c-client/classic/bridge.o
BRIDGE_OBJ += $(O)/c-client/classic/bridge_smtp.o
$(O)/c-client/classic/native.o: $(CLIENT_OBJ) $(BRIDGE_OBJ)
	$(CC) -r -nostdlib -o $@.all $^
	nm -g --defined-only $(BRIDGE_OBJ) | awk 'NF == 3 {print $$3}' > $@.syms
	objcopy --keep-global-symbols=$@.syms $@.all $@
	@rm -f $@.all

$(O)/c-client/classic/classic.o: $(CLASSIC_OBJ) $(O)/c-client/classic/native.o
	$(CC) -r -nostdlib -o $@.all $^
	nm -g --defined-only $(CLASSIC_OBJ) | awk 'NF == 3 && $$3 !~ /^cl_/ {print $$3}' > $@.syms
	objcopy --keep-global-symbols=$@.syms $@.all $@
	@rm -f $@.all

$(O)/ipopd/ipop3d: $(POP3_OBJ) $(LIB)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(POP3_OBJ) $(LIB) $(LIBS)

$(O)/ipopd/ipop2d: $(POP2_OBJ) $(LIB)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(POP2_OBJ) $(LIB) $(LIBS)

# imapd's pieces as a library too, so unit tests can reach its parsers.
$(IMAPD_LIB): $(filter-out $(O)/imapd/main.o,$(IMAPD_OBJ))
	@rm -f $@
	ar rcs $@ $^

$(O)/tests/unit/%: tests/unit/%.c tests/unit/test.h tests/unit/mbox_fixture.h tests/unit/io_fixture.h $(IMAPD_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -Itests/unit -Iimapd -o $@ $< $(IMAPD_LIB) $(LIB) $(LIBS)

# Objects remember the flags they were built with: `make SSLTYPE=unix` after
# a default build (or a classic `make slx SSLTYPE=unix`) rebuilds them
# instead of keeping the old SSLTYPE.
FLAGS_STAMP := $(O)/.build-flags
ifneq ($(file <$(FLAGS_STAMP)),$(CC) $(ALL_CFLAGS))
$(shell mkdir -p $(O))
$(file >$(FLAGS_STAMP),$(CC) $(ALL_CFLAGS))
endif
# Written above while the makefile is read, after make looked at the
# directory: without a rule, a first build in a fresh tree would think the
# stamp cannot be made and fall back to make's built-in %.o rule.
$(FLAGS_STAMP): ;

$(O)/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

# Utilities: one program per src/NAME.c; their objects are kept (a second
# make links nothing again).
.SECONDARY: $(UTIL_BIN:=.o)
$(O)/src/%: $(O)/src/%.o $(IMAPD_LIB) $(LIB)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(IMAPD_LIB) $(LIB) $(LIBS)

$(O)/src/%.o: src/%.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Iimapd -MMD -MP -c -o $@ $<

-include $(CLIENT_OBJ:.o=.d) $(UTIL_BIN:=.d) $(IMAPD_OBJ:.o=.d) $(POP3_OBJ:.o=.d) $(POP2_OBJ:.o=.d) \
	$(CLASSIC_OBJ:.o=.d) $(BRIDGE_OBJ:.o=.d)

# Unit tests: each tests/unit/test-*.c is one program; summary line at the end.
# A test that checks nothing must SKIP with a reason, and a program fails on
# a skip whose reason is not listed here ('|'-separated). None is expected as
# root, as make check runs; a non-root run may pass e.g.
# UNIT_EXPECTED_SKIPS='needs root to drop to nobody'.
UNIT_EXPECTED_SKIPS ?=
unit: $(UNIT_BIN)
	@pass=0; fail=0; \
	for t in $(UNIT_BIN); do \
		if UNIT_EXPECTED_SKIPS='$(UNIT_EXPECTED_SKIPS)' $$t; then pass=$$((pass+1)); else echo "FAILED: $$t"; fail=$$((fail+1)); fi; \
	done; \
	echo "unit programs: $$pass passed, $$fail failed"; test $$fail -eq 0

SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
# ASan intercepts crypt_r; libcrypt must be loaded from the start or the
# interceptor has nothing to call when PAM's pam_unix loads it later.
SAN_LD := $(SAN) -Wl,--no-as-needed -lcrypt -Wl,--as-needed
# The test hooks (privsep.c: a pre-login crash on demand) exist only here.
asan:
	$(MAKE) O=build/asan EXTRA_CFLAGS="$(SAN) -O1 -DPRIVSEP_TEST_HOOKS" EXTRA_LDFLAGS="$(SAN_LD)" all $(UNIT_SRC:%.c=build/asan/%)

# The README's test command. Unit tests and integration tests run against the
# sanitizer build; the integration tests need root (PAM users, launchers).
check: deps
	$(MAKE) all asan shared shared-asan
	ASAN_OPTIONS=detect_leaks=1 $(MAKE) O=build/asan EXTRA_CFLAGS="$(SAN) -O1 -DPRIVSEP_TEST_HOOKS" EXTRA_LDFLAGS="$(SAN_LD)" unit
	IMAPD=$(CURDIR)/build/asan/imapd/imapd IPOP3D=$(CURDIR)/build/asan/ipopd/ipop3d \
	IPOP2D=$(CURDIR)/build/asan/ipopd/ipop2d /usr/bin/python3 -m pytest -q tests

# What the tests need from Debian, installed when missing (as root), so the
# README's `make check` works on a fresh machine; .ci/run calls the same list.
deps:
	@bash src/deps.sh check

# Install the daemons, man pages and example launcher/PAM files; the
# examples get the real paths substituted.
SUBST = sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@CONFIG@|$(CONFIG)|g' \
	-e 's|@SSLDIR@|$(SSLDIR)|g' -e 's|@SPOOLDIR@|$(SPOOLDIR)|g' \
	-e 's|@DOCDIR@|$(DOCDIR)|g' -e 's|@VERSION@|$(VERSION)|g'
DAEMONS  = imapd/imapd $(if $(wildcard ipopd/ipop3d.c),ipopd/ipop3d) $(if $(wildcard ipopd/ipop2d.c),ipopd/ipop2d)
MAN8     = imapd.8 ipop3d.8 ipop2d.8
MAN1     = mailutil.1 tmail.1 dmail.1 mtest.1
EXAMPLES = inetd.conf xinetd.d/imap xinetd.d/imaps xinetd.d/pop3 xinetd.d/pop3s \
	systemd/imap.socket systemd/imap@.service systemd/imaps.socket systemd/imaps@.service \
	systemd/pop3.socket systemd/pop3@.service systemd/pop3s.socket systemd/pop3s@.service \
	pam.d/imap pam.d/pop

# The classic headers programs include, and what linkage.c needs.
# The classic headers live in c-client/ itself, where the classic guides
# copy them from (the library's own mail and rfc822 headers are mail_api.h
# and rfc822_api.h, so the names do not collide).
CLASSIC_HDR = $(addprefix c-client/,c-client.h env.h flstring.h fs.h linkage.h mail.h \
	mail_params.h mail_types.h misc.h nntp.h osdep.h rfc822.h smtp.h tcp.h utf8.h utf8aux.h \
	linkage.c)

install: all shared
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(LIBDIR)/pkgconfig \
		$(DESTDIR)$(INCDIR)
	install -m 0644 $(O)/c-client/c-client.a $(DESTDIR)$(LIBDIR)/libc-client.a
	install -m 0755 build/pic/c-client/$(SHLIB_SONAME) $(DESTDIR)$(LIBDIR)/
	ln -sf $(SHLIB_SONAME) $(DESTDIR)$(LIBDIR)/$(SHLIB_COMPAT)
	ln -sf $(SHLIB_SONAME) $(DESTDIR)$(LIBDIR)/libc-client.so
	install -m 0644 $(CLASSIC_HDR) $(DESTDIR)$(INCDIR)/
	$(SUBST) -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCDIR@|$(INCDIR)|g' -e 's|@PREFIX@|$(PREFIX)|g' \
		-e 's|@LIBS@|$(LIBS)|g' c-client/classic/c-client.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/c-client.pc
	install -m 0755 $(DAEMONS) $(DESTDIR)$(SBINDIR)/
	install -m 0755 $(UTIL_BIN) $(DESTDIR)$(BINDIR)/
	for m in $(MAN1); do $(SUBST) docs/man/$$m > $(DESTDIR)$(MANDIR)/man1/$$m; done
	for m in $(MAN8); do $(SUBST) docs/man/$$m > $(DESTDIR)$(MANDIR)/man8/$$m; done
	$(SUBST) docs/man/imapd.conf.5 > $(DESTDIR)$(MANDIR)/man5/imapd.conf.5
	for e in $(EXAMPLES); do \
		install -d $(DESTDIR)$(DOCDIR)/examples/$$(dirname $$e); \
		$(SUBST) docs/examples/$$e > $(DESTDIR)$(DOCDIR)/examples/$$e; \
	done
	install -m 0644 README $(DESTDIR)$(DOCDIR)/
	@# the daemons speak to clients as this user until login (privsep.c);
	@# a package's maintainer scripts do this under DESTDIR
	@if [ -z "$(DESTDIR)" ] && ! id uwimap >/dev/null 2>&1; then \
		useradd --system --no-create-home --shell /usr/sbin/nologin uwimap && \
		echo "install: created the system user uwimap (pre-login processes)"; \
	fi

uninstall:
	rm -f $(addprefix $(DESTDIR)$(LIBDIR)/,libc-client.a $(SHLIB_SONAME) $(SHLIB_COMPAT) \
		libc-client.so pkgconfig/c-client.pc)
	rm -rf $(DESTDIR)$(INCDIR)
	rmdir $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(LIBDIR) $(dir $(DESTDIR)$(INCDIR)) 2>/dev/null || true
	rm -f $(addprefix $(DESTDIR)$(SBINDIR)/,$(notdir $(DAEMONS)))
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(UTIL_BIN)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(MAN1))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man8/,$(MAN8)) $(DESTDIR)$(MANDIR)/man5/imapd.conf.5
	rm -rf $(DESTDIR)$(DOCDIR)

bench: all
	/usr/bin/python3 tests/bench/bench.py

demo:
	bash src/demo.sh

# libFuzzer harnesses, not part of `make check`: the library is rebuilt with
# clang and the sanitizers under build/fuzz (warnings are errors there too),
# then each harness runs FUZZ_SECONDS on its corpus.
FUZZ_SECONDS ?= 60
FUZZ_CC  ?= clang
FUZZ_SRC := $(wildcard tests/fuzz/fuzz-*.c)
FUZZ_NAMES := $(FUZZ_SRC:tests/fuzz/fuzz-%.c=%)
FUZZ_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -O1
FUZZ_POP := $(filter-out $(O)/ipopd/ipop3d.o,$(POP3_OBJ))
fuzz:
	$(MAKE) O=build/fuzz CC=$(FUZZ_CC) \
		EXTRA_CFLAGS="-fsanitize=fuzzer-no-link $(FUZZ_FLAGS)" $(FUZZ_NAMES:%=build/fuzz/fuzz-%)
	@set -e; for n in $(FUZZ_NAMES); do \
		c=build/fuzz/corpus-$$n; mkdir -p $$c; \
		case $$n in rfc822|mbox) cp -n tests/data/corpus/*.eml $$c/;; esac; \
		[ $$n != mbox ] || cp -n tests/data/*.mbox $$c/; \
		[ ! -d tests/fuzz/seed-$$n ] || cp -n tests/fuzz/seed-$$n/* $$c/; \
		echo "== fuzz-$$n: $(FUZZ_SECONDS)s"; \
		build/fuzz/fuzz-$$n -max_total_time=$(FUZZ_SECONDS) \
			-artifact_prefix=build/fuzz/crash-$$n- $$c; \
	done

# fuzz-pop3 alone needs ipop3d's objects (not its main).
$(O)/fuzz-%: tests/fuzz/fuzz-%.c $(IMAPD_LIB) $(LIB) $(FUZZ_POP)
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -Iimapd -Iipopd -o $@ $< \
		$(if $(filter pop3,$*),$(FUZZ_POP)) $(IMAPD_LIB) $(LIB) $(LIBS)

# fuzz-classic links the classic interface's one object, as a program
# links the shared library (the native names are local inside it).
$(O)/fuzz-classic: tests/fuzz/fuzz-classic.c $(O)/c-client/classic/classic.o
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $< \
		$(O)/c-client/classic/classic.o $(LIBS)

# A throwaway self-signed certificate for imapd and ipop3d (testing only).
certs:
	sh src/mkcert.sh "$(DESTDIR)$(SSLDIR)" imapd ipop3d

clean:
	rm -rf build .build-flags
	find c-client imapd ipopd src tests -name '*.o' -o -name '*.d' | xargs rm -f
	rm -f c-client/libc-client.a c-client/c-client.a c-client/LDFLAGS imapd/libimapd.a imapd/imapd ipopd/ipop3d ipopd/ipop2d $(UNIT_SRC:%.c=%) $(UTIL_BIN)
