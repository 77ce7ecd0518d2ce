/* alertd_metrics.h -- a minimal Prometheus /metrics responder for pantau-alertd.
 *
 * One listening socket, served from alertd's own loop (poll() says when a client is there):
 * each connection gets the text the caller made, whatever it asked for, and is closed. A
 * client that sends nothing is given up after 1 s, so a stuck scraper cannot hold the loop.
 *
 * Not for: the numbers themselves (alertd.c formats them). */
#ifndef ALERTD_METRICS_H
#define ALERTD_METRICS_H

#include <stddef.h>

/* Listens on address:port (address borrowed, an IPv4 or IPv6 literal). Returns the socket, or
 * -1 with err set. Caller closes it with close(2). */
int alertd_metrics_open(const char *address, long long port, char *err, size_t errlen);

/* Accepts one waiting client on fd (non-blocking: nothing waiting is fine), reads its request
 * and answers with body (borrowed, Prometheus text format). */
void alertd_metrics_serve(int fd, const char *body);

#endif
