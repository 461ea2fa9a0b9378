/*
 * The HTML of the authorization endpoint: the sign-in page and the error
 * page, with the security headers every one of them carries.  Pages are
 * self-contained (inline CSS, no script, no external resource) so that
 * the Content-Security-Policy can be default-src 'none'; every value
 * echoed into a page is HTML-escaped here.  The strings are the caller's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keymanager/oauth.h"

#define PAGE_CSP "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; " \
	"frame-ancestors 'none'; base-uri 'none'"

static const char page_head[] =
	"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
	"<title>Gatehouse \xe2\x80\x94 sign in</title><style>"
	"*{box-sizing:border-box}"
	"body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;"
	"font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
	"background:linear-gradient(160deg,#1f2d3d,#30475e);color:#1f2933}"
	"main{background:#fff;width:22rem;max-width:92vw;padding:2rem 2.2rem;border-radius:10px;"
	"box-shadow:0 12px 40px rgba(0,0,0,.3)}"
	"h1{margin:0 0 .2rem;font-size:1.35rem;font-weight:600}"
	"p.sub{margin:0 0 1.4rem;color:#52606d;font-size:.9rem}"
	"label{display:block;margin:.9rem 0 .3rem;font-size:.85rem;font-weight:600;color:#3e4c59}"
	"input[type=text],input[type=password]{width:100%;padding:.6rem .7rem;border:1px solid #cbd2d9;"
	"border-radius:6px;font-size:1rem}"
	"input:focus{outline:2px solid #2680c2;border-color:#2680c2}"
	"button{margin-top:1.5rem;width:100%;padding:.7rem;border:0;border-radius:6px;background:#2680c2;"
	"color:#fff;font-size:1rem;font-weight:600;cursor:pointer}"
	"button:hover{background:#186faf}"
	".error{margin:0 0 1rem;padding:.6rem .8rem;border-radius:6px;background:#fde8e8;color:#9b1c1c;"
	"font-size:.9rem}"
	".brand{letter-spacing:.08em;text-transform:uppercase;font-size:.75rem;color:#2680c2;"
	"font-weight:700;margin-bottom:.6rem}"
	"</style></head><body><main><div class=\"brand\">Gatehouse</div>";

static const char page_tail[] = "</main></body></html>\n";

char *
km_html_escape(const char *s)
{
	size_t n = 0;
	char *out, *o;

	if (s == NULL)
		s = "";
	for (const char *p = s; *p; p++)
		n += strchr("&<>\"'", *p) != NULL ? 6 : (unsigned char)*p < 0x20 ? 0 : 1;
	out = malloc(n + 1);
	if (out == NULL)
		return NULL;
	o = out;
	for (const char *p = s; *p; p++) {
		switch (*p) {
		case '&': memcpy(o, "&amp;", 5); o += 5; break;
		case '<': memcpy(o, "&lt;", 4); o += 4; break;
		case '>': memcpy(o, "&gt;", 4); o += 4; break;
		case '"': memcpy(o, "&quot;", 6); o += 6; break;
		case '\'': memcpy(o, "&#39;", 5); o += 5; break;
		default:
			if ((unsigned char)*p >= 0x20)
				*o++ = *p;
			break;
		}
	}
	*o = '\0';
	return out;
}

/* A growing page buffer; on allocation failure it stays failed and appends nothing. */
struct page {
	char *buf;
	size_t len, cap;
	int failed;
};

static void
page_add(struct page *pg, const char *s, size_t n)
{
	if (pg->failed)
		return;
	if (pg->len + n + 1 > pg->cap) {
		size_t cap = (pg->len + n + 1) * 2;
		char *b = realloc(pg->buf, cap);
		if (b == NULL) {
			pg->failed = 1;
			return;
		}
		pg->buf = b;
		pg->cap = cap;
	}
	memcpy(pg->buf + pg->len, s, n);
	pg->len += n;
	pg->buf[pg->len] = '\0';
}

static void
page_str(struct page *pg, const char *s)
{
	page_add(pg, s, strlen(s));
}

/* Append text HTML-escaped. */
static void
page_text(struct page *pg, const char *s)
{
	char *e = km_html_escape(s);

	if (e == NULL) {
		pg->failed = 1;
		return;
	}
	page_str(pg, e);
	free(e);
}

void
gh_reply_html(struct gh_call *c, int status, const char *html, size_t len)
{
	gh_reply_raw(c, status, "text/html; charset=utf-8", html, len);
	gh_reply_header(c, "Cache-Control", "no-store");
	gh_reply_header(c, "Pragma", "no-cache");
	gh_reply_header(c, "X-Frame-Options", "DENY");
	gh_reply_header(c, "Content-Security-Policy", PAGE_CSP);
	gh_reply_header(c, "X-Content-Type-Options", "nosniff");
	gh_reply_header(c, "Referrer-Policy", "no-referrer");
}

static void
page_reply(struct gh_call *c, int status, struct page *pg)
{
	if (pg->failed) {
		gh_reply_error(c, 500, "Internal Server Error", "Out of memory");
	} else {
		gh_reply_html(c, status, pg->buf, pg->len);
	}
	free(pg->buf);
}

/*
 * The sign-in form's submission ends in a redirect to the client, and
 * browsers apply form-action to that redirect too: the client's origin
 * (scheme://host[:port] of its registered redirect URI) joins 'self'.
 */
static void
login_csp(struct gh_call *c, const char *redirect_uri)
{
	char csp[600], origin[300];
	const char *p = redirect_uri, *end;
	size_t n;

	if (p == NULL || (strncmp(p, "https://", 8) != 0 && strncmp(p, "http://", 7) != 0))
		return;
	end = strchr(strchr(p, ':') + 3, '/');
	n = end != NULL ? (size_t)(end - p) : strlen(p);
	if (n >= sizeof(origin))
		return;
	memcpy(origin, p, n);
	origin[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (!((origin[i] >= 'a' && origin[i] <= 'z') || (origin[i] >= 'A' && origin[i] <= 'Z') ||
		    (origin[i] >= '0' && origin[i] <= '9') || strchr(".-:/[]", origin[i]) != NULL))
			return;
	snprintf(csp, sizeof(csp), "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' %s; "
	    "frame-ancestors 'none'; base-uri 'none'", origin);
	gh_reply_header(c, "Content-Security-Policy", csp);
}

void
gh_reply_login_page(struct gh_call *c, int status, const struct km_login_view *v)
{
	struct page pg = { 0 };

	page_str(&pg, page_head);
	page_str(&pg, "<h1>Sign in</h1><p class=\"sub\">to continue to <strong>");
	page_text(&pg, v->client_name);
	page_str(&pg, "</strong></p>");
	if (v->error != NULL) {
		page_str(&pg, "<p class=\"error\" role=\"alert\">");
		page_text(&pg, v->error);
		page_str(&pg, "</p>");
	}
	page_str(&pg, "<form method=\"post\" action=\"authorize\" autocomplete=\"on\">"
	    "<input type=\"hidden\" name=\"sessionDataKey\" value=\"");
	page_text(&pg, v->session_key);
	page_str(&pg, "\"><input type=\"hidden\" name=\"csrf\" value=\"");
	page_text(&pg, v->csrf);
	page_str(&pg, "\"><label for=\"username\">User name</label>"
	    "<input type=\"text\" id=\"username\" name=\"username\" autocomplete=\"username\" "
	    "autocapitalize=\"none\" spellcheck=\"false\" required autofocus value=\"");
	page_text(&pg, v->username);
	page_str(&pg, "\"><label for=\"password\">Password</label>"
	    "<input type=\"password\" id=\"password\" name=\"password\" "
	    "autocomplete=\"current-password\" required>"
	    "<button type=\"submit\">Sign in</button></form>");
	page_str(&pg, page_tail);
	page_reply(c, status, &pg);
	if (c->status == status)
		login_csp(c, v->redirect_uri);
}

void
gh_reply_error_page(struct gh_call *c, int status, const char *title, const char *message)
{
	struct page pg = { 0 };

	page_str(&pg, page_head);
	page_str(&pg, "<h1>");
	page_text(&pg, title);
	page_str(&pg, "</h1><p class=\"error\" role=\"alert\">");
	page_text(&pg, message);
	page_str(&pg, "</p><p class=\"sub\">Return to the application and try again.</p>");
	page_str(&pg, page_tail);
	page_reply(c, status, &pg);
}
