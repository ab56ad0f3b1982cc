/* pop3_auth.c: the AUTHORIZATION state: CAPA (RFC 2449), USER/PASS
 * (RFC 1939), AUTH (RFC 5034, mechanisms from sasl.h), STLS (RFC 2595).
 * There is no APOP: PAM keeps no shared secret to build its digest from. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pop3.h"
#include "sasl.h"
#include "tls.h"

/* Mechanisms offered (sasl.h); all of them carry a plaintext password. */
static const char *const mechs[] = {"PLAIN", "LOGIN"};

static int stls_possible(struct pop3 *s)
{
	return s->state == P3_AUTH && tls_available() && !tls_active(&s->p.io);
}

void pop3_capa(struct pop3 *s, char *args)
{
	struct io *io = &s->p.io;

	pop3_ok(s, "Capability list follows");
	io_puts(io, "TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n"
		    "EXPIRE NEVER\r\n");
	io_printf(io, "IMPLEMENTATION %s-%s\r\n", s->p.daemon, VERSION);
	if (s->state == P3_AUTH && s->p.plaintext_ok) {
		io_puts(io, "USER\r\nSASL");
		for (size_t i = 0; i < ARRAY_SIZE(mechs); i++)
			io_printf(io, " %s", mechs[i]);
		io_puts(io, "\r\n");
	}
	if (stls_possible(s))
		io_puts(io, "STLS\r\n");
	io_puts(io, ".\r\n");
}

void pop3_need_tls(struct pop3 *s)
{
	pop3_err(s, "[SYS/PERM] Plaintext passwords are refused until TLS is on: %s",
		 stls_possible(s) ? "use STLS first, or port 995" : "use port 995");
}

void pop3_login(struct pop3 *s, const char *user, const char *authname, char *password)
{
	struct mail_err err;
	uint32_t count;
	uint64_t octets;

	switch (pop_login(&s->p, user, authname, password, &err)) {
	case POP_LOGIN_OK:
		s->state = P3_TRANS;
		pop_stat(&s->p, &count, &octets);
		pop3_ok(s, "Logged in, %u message%s (%llu octets)%s", count, count == 1 ? "" : "s",
			(unsigned long long)octets,
			s->p.box->readonly ? "; the maildrop is read-only, deletions will fail" : "");
		return;
	case POP_LOGIN_BAD:
		return pop3_err(s, "[AUTH] Authentication failed");
	case POP_LOGIN_TOOMANY:
		pop3_err(s, "[AUTH] Authentication failed; too many failures, closing");
		break;
	case POP_LOGIN_INUSE:
		pop3_err(s, "[IN-USE] The maildrop is in use by another POP session");
		break;
	case POP_LOGIN_FAIL:
		pop3_err(s, "[SYS/TEMP] Cannot open the maildrop (details in the mail log)");
		break;
	case POP_LOGIN_FATAL:
		pop3_err(s, "[SYS/PERM] Server error (details in the mail log)");
		break;
	}
	/* after the switch to the user there is no way back to try another */
	pop_exit(&s->p, 0);
}

void pop3_user(struct pop3 *s, char *args)
{
	free(s->user);
	s->user = NULL;
	if (!s->p.plaintext_ok)
		return pop3_need_tls(s);
	if (!args || !*args || strchr(args, ' ') || strlen(args) > 255)
		return pop3_err(s, "USER needs one user name");
	s->user = xstrdup(args);
	pop3_ok(s, "Password required for %s", args);
}

void pop3_pass(struct pop3 *s, char *args)
{
	char *user = s->user;

	s->user = NULL;
	if (!s->p.plaintext_ok)
		return pop3_need_tls(s);
	if (!user)
		return pop3_err(s, "Give USER first");
	if (!args) {
		free(user);
		return pop3_err(s, "PASS needs a password");
	}
	/* the whole rest of the line: passwords may hold spaces (RFC 1939 7) */
	pop3_login(s, user, NULL, args);
	free(user);
}

static void list_mechs(struct pop3 *s)
{
	pop3_ok(s, "Mechanisms follow");
	for (size_t i = 0; i < ARRAY_SIZE(mechs); i++)
		io_printf(&s->p.io, "%s\r\n", mechs[i]);
	io_puts(&s->p.io, ".\r\n");
}

/* Run the SASL exchange from the initial response ir (NULL: none). */
static void sasl_exchange(struct pop3 *s, enum sasl_mech mech, const char *ir)
{
	struct sasl_state st;
	struct mail_err err;
	struct buf challenge, line;
	const char *resp = ir;
	size_t rlen = ir ? strlen(ir) : 0;
	enum sasl_result r;

	buf_init(&challenge);
	buf_init(&line);
	sasl_begin(&st, mech);
	for (;;) {
		buf_reset(&challenge);
		/* by length: a NUL in the line is refused by the decoder, not cut */
		r = sasl_step(&st, resp, rlen, &challenge, &err);
		if (r != SASL_CONTINUE)
			break;
		io_printf(&s->p.io, "+ %s\r\n", challenge.data ? challenge.data : "");
		pop3_read_line(s, &line);
		resp = line.data ? line.data : "";
		rlen = line.len;
	}
	buf_free(&challenge);
	if (r == SASL_FAIL) {
		pop3_err(s, "[AUTH] Authentication failed: %s", err.text);
	} else {
		const char *user = st.authzid && *st.authzid ? st.authzid : st.user;
		pop3_login(s, user, st.user, st.password);
	}
	if (line.data)
		memset(line.data, 0, line.len);
	buf_free(&line);
	sasl_end(&st);
}

void pop3_auth(struct pop3 *s, char *args)
{
	char *mech = args, *ir = NULL;
	int m;

	free(s->user);
	s->user = NULL;
	if (!s->p.plaintext_ok)
		return pop3_need_tls(s);
	if (!args || !*args)
		return list_mechs(s);
	if ((ir = strchr(args, ' ')))
		*ir++ = '\0';
	if ((m = sasl_mech_find(mech)) < 0)
		return pop3_err(s, "Unsupported authentication mechanism %.40s", mech);
	if (ir && (!*ir || strchr(ir, ' ')))
		return pop3_err(s, "AUTH takes a mechanism and one initial response");
	sasl_exchange(s, (enum sasl_mech)m, ir);
}

void pop3_stls(struct pop3 *s, char *args)
{
	if (args)
		return pop3_err(s, "STLS takes no arguments");
	if (tls_active(&s->p.io))
		return pop3_err(s, "TLS is already on");
	if (!tls_available())
		return pop3_err(s, "TLS is not available on this server");
	free(s->user);
	s->user = NULL;
	pop3_ok(s, "Begin TLS negotiation");   /* queued until the certificate is ready */
	if (pop_tls(&s->p) < 0)
		pop3_err(s, "[SYS/TEMP] TLS is unavailable: server certificate problem (details "
			    "in the mail log)");
}
