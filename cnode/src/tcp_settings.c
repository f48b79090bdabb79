/*
 * tcp_settings.c: the values of the tcp settings that both the launch line (args.c) and serve mode
 * (serve.c) take: an address with an optional port (CNODE_BIND, CNODE_ADVERTISE, CNODE_SERVE)
 * and the ZMTP heartbeat (CNODE_HEARTBEAT). Parsing only: the callers name the setting in their
 * messages, and the transport (transport_zmq.c) uses what comes out.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "node.h"

/* libzmq keeps ZMQ_HEARTBEAT_TTL in deciseconds, in 16 bits: at most 6553599 ms. */
#define S_MAX_TTL_MS 6553599

/* Host names, IPv4 and IPv6 literals (with a zone after '%'), interface names. */
static int s_host_chars(const char *s, size_t len)
{
    if (len == 0 || len >= sizeof ((struct cnode_tcp_address *)0)->host - 2) return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9')
            && c != '.' && c != '-' && c != '_' && c != ':' && c != '%')
            return 0;
    }
    return 1;
}

static int s_port(const char *s, char out[8])
{
    unsigned long long port;
    if (strcmp(s, "*") != 0 && cnode_args_positive(s, 65535, &port) < 0) return -1;
    snprintf(out, 8, "%s", s);
    return 0;
}

int cnode_tcp_address_parse(const char *value, struct cnode_tcp_address *out)
{
    memset(out, 0, sizeof *out);
    const char *host = value, *port = NULL, *colon = strchr(value, ':');
    size_t host_len;
    if (*value == '[') { /* [v6] or [v6]:port */
        const char *close = strchr(value, ']');
        if (close == NULL || (close[1] != '\0' && close[1] != ':')) return -1;
        host = value + 1;
        host_len = (size_t)(close - host);
        if (close[1] == ':') port = close + 2;
        out->ipv6 = 1;
    } else if (colon != NULL && strchr(colon + 1, ':') != NULL) { /* a bare v6 literal */
        host_len = strlen(value);
        out->ipv6 = 1;
    } else {
        host_len = colon ? (size_t)(colon - value) : strlen(value);
        if (colon) port = colon + 1;
    }
    if (port != NULL && s_port(port, out->port) < 0) return -1;

    char bare[sizeof out->host];
    if (host_len == 1 && *host == '*' && !out->ipv6) {
        snprintf(bare, sizeof bare, "0.0.0.0");
    } else {
        if (!s_host_chars(host, host_len)) return -1;
        memcpy(bare, host, host_len);
        bare[host_len] = '\0';
    }
    unsigned char ip[16];
    if (out->ipv6) {
        char plain[sizeof bare];
        snprintf(plain, sizeof plain, "%.*s", (int)strcspn(bare, "%"), bare); /* no zone */
        if (inet_pton(AF_INET6, plain, ip) != 1) return -1;
        out->wildcard = memcmp(ip, (const unsigned char[16]){0}, 16) == 0;
        out->loopback = memcmp(ip, (const unsigned char[16]){[15] = 1}, 16) == 0;
        snprintf(out->host, sizeof out->host, "[%.253s]", bare);
        return 0;
    }
    if (strchr(bare, ':') != NULL) return -1;
    if (inet_pton(AF_INET, bare, ip) == 1) {
        out->wildcard = memcmp(ip, (const unsigned char[4]){0}, 4) == 0;
        out->loopback = ip[0] == 127;
    } else if (strcasecmp(bare, "localhost") == 0) {
        out->loopback = 1; /* bound as 127.0.0.1 (transport_zmq.c) */
    }
    snprintf(out->host, sizeof out->host, "%s", bare);
    return 0;
}

int cnode_heartbeat_parse(const char *value, int *interval, int *timeout)
{
    char first[16];
    const char *comma = strchr(value, ',');
    unsigned long long ivl, tmo;
    if (comma == NULL || (size_t)(comma - value) >= sizeof first) return -1;
    memcpy(first, value, (size_t)(comma - value));
    first[comma - value] = '\0';
    if (cnode_args_positive(first, INT_MAX, &ivl) < 0
        || cnode_args_positive(comma + 1, S_MAX_TTL_MS, &tmo) < 0)
        return -1;
    *interval = (int)ivl;
    *timeout = (int)tmo;
    return 0;
}
