/* test_agent_sockserver.c -- unit tests of edge-agent/sockserver.c, the Unix socket server of
 * the camera and larva sources, on real sockets in a temporary folder: the path and mode
 * checks, a stale socket replaced and any other file left alone, lines from several clients in
 * pieces, a last line without a newline, a line too long, a client over the table refused with
 * the busy line, a client dropped when its callback says so, the socket file removed on close.
 *
 * A Unix stream socket hands over what was sent before send() returns, so a few non-blocking
 * polls always see it: no waiting here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "linebuf.h"
#include "msg_err.h"
#include "sockserver.h"
#include "tinytest.h"

/* What the callbacks saw: "line|" per line, "[line]" for an unterminated one, "!" too long. */
struct rec {
    char seen[512];
    size_t used;
    const char *drop_on; /* a line that makes on_line return false; NULL: none */
    const char *reply;   /* sent back for every line; NULL: none */
};

static bool on_line(void *ctx, int fd, const char *line, size_t len, bool unterminated)
{
    struct rec *r = ctx;

    r->used += (size_t)snprintf(r->seen + r->used, sizeof(r->seen) - r->used,
                                unterminated ? "[%.*s]" : "%.*s|", (int)len, line);
    if (r->reply != NULL && !agent_sockserver_reply(fd, r->reply)) {
        return false;
    }
    return r->drop_on == NULL || strcmp(line, r->drop_on) != 0;
}

static bool on_too_long(void *ctx, int fd)
{
    struct rec *r = ctx;

    (void)fd;
    r->used += (size_t)snprintf(r->seen + r->used, sizeof(r->seen) - r->used, "!");
    return true;
}

struct fixture {
    char dir[64];
    char path[AGENT_SOCKSERVER_PATH_MAX];
    struct rec rec;
    struct agent_sockserver_conf conf;
};

static void setup(struct fixture *f, size_t clients)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/pantau-sockserver-XXXXXX");
    TEST_CHECK(mkdtemp(f->dir) != NULL);
    snprintf(f->path, sizeof(f->path), "%s/s.sock", f->dir);
    f->conf.who = "test";
    f->conf.path = f->path;
    f->conf.mode = "0600";
    f->conf.clients = clients;
    f->conf.busy = "error busy";
    f->conf.on_line = on_line;
    f->conf.on_too_long = on_too_long;
    f->conf.ctx = &f->rec;
}

static void teardown(struct fixture *f)
{
    unlink(f->path);
    rmdir(f->dir);
}

static int dial(const char *path)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    TEST_CHECK(fd >= 0 && connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) == 0);
    TEST_MSG("connect %s: %s", path, strerror(errno));
    return fd;
}

/* A few polls: one accepts, the next reads what was sent before the accept. */
static void pump(struct agent_sockserver *s)
{
    char err[MSG_ERRLEN] = "";

    for (int i = 0; i < 3; i++) {
        TEST_CHECK(agent_sockserver_poll(s, err, sizeof(err)) == MSG_OK);
        TEST_MSG("%s", err);
    }
}

static void say(int fd, const char *text)
{
    TEST_CHECK(send(fd, text, strlen(text), MSG_NOSIGNAL) == (ssize_t)strlen(text));
}

/* What the server sent to fd until it closed (the client must already be dropped). */
static void heard(int fd, char *out, size_t outlen)
{
    size_t used = 0;
    ssize_t n;

    for (;;) {
        n = recv(fd, out + used, outlen - 1 - used, MSG_DONTWAIT);
        if (n <= 0) {
            break;
        }
        used += (size_t)n;
    }
    out[used] = '\0';
    TEST_CHECK(n == 0); /* EOF: the server closed its side */
    TEST_MSG("recv: %zd (%s)", n, n < 0 ? strerror(errno) : "");
}

static void test_check_path_and_mode(void)
{
    static const struct {
        const char *path;
        const char *mode;
        int rc;
        const char *err;
    } cases[] = {
        {"/run/pantau/larva.sock", "0660", MSG_OK, ""},
        {"/run/pantau/larva.sock", "0777", MSG_OK, ""},
        {"run/larva.sock", "0660", MSG_ERR_CONFIG, "path:"},
        {"", "0660", MSG_ERR_CONFIG, "path:"},
        {"/run/pantau/larva.sock", "", MSG_ERR_CONFIG, "mode:"},
        {"/run/pantau/larva.sock", "0668", MSG_ERR_CONFIG, "mode:"},
        {"/run/pantau/larva.sock", "01000", MSG_ERR_CONFIG, "mode:"},
        {"/run/pantau/larva.sock", "-1", MSG_ERR_CONFIG, "mode:"},
        {"/run/pantau/larva.sock", "rw", MSG_ERR_CONFIG, "mode:"},
    };
    char longest[AGENT_SOCKSERVER_PATH_MAX + 1];
    char err[MSG_ERRLEN];
    mode_t m = 0;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err[0] = '\0';
        TEST_CHECK(agent_sockserver_check(cases[i].path, cases[i].mode, err, sizeof(err)) ==
                   cases[i].rc);
        TEST_CHECK(strncmp(err, cases[i].err, strlen(cases[i].err)) == 0);
        TEST_MSG("case %zu: '%s'", i, err);
    }
    /* sun_path holds 107 bytes and the NUL */
    memset(longest, 'a', sizeof(longest));
    longest[0] = '/';
    longest[AGENT_SOCKSERVER_PATH_MAX - 1] = '\0';
    TEST_CHECK(agent_sockserver_check(longest, "0660", err, sizeof(err)) == MSG_OK);
    longest[AGENT_SOCKSERVER_PATH_MAX - 1] = 'a';
    longest[AGENT_SOCKSERVER_PATH_MAX] = '\0';
    TEST_CHECK(agent_sockserver_check(longest, "0660", err, sizeof(err)) == MSG_ERR_CONFIG);
    TEST_CHECK(strncmp(err, "path:", 5) == 0);
    TEST_CHECK(agent_sockserver_mode_parse("0640", &m) == MSG_OK && m == 0640);
}

static void test_lines_from_several_clients(void)
{
    struct fixture f;
    struct agent_sockserver *s = NULL;
    char err[MSG_ERRLEN] = "";
    struct stat st;
    int a;
    int b;

    setup(&f, 4);
    TEST_CHECK(agent_sockserver_open(&s, &f.conf, err, sizeof(err)) == MSG_OK);
    TEST_MSG("%s", err);
    TEST_CHECK(lstat(f.path, &st) == 0 && S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == 0600);
    TEST_CHECK(agent_sockserver_fd(s) >= 0);
    a = dial(f.path);
    b = dial(f.path);
    pump(s);
    say(a, "a1 first ha");
    say(b, "b1\r\n");
    pump(s);
    say(a, "lf\na2\n\n");
    pump(s);
    TEST_CHECK(strcmp(f.rec.seen, "b1|a1 first half|a2||") == 0);
    TEST_MSG("seen '%s'", f.rec.seen);
    close(a);
    close(b);
    pump(s);
    agent_sockserver_close(s);
    TEST_CHECK(lstat(f.path, &st) != 0 && errno == ENOENT); /* removed on close */
    teardown(&f);
}

/* issue 10: the camera source dropped a last line without its newline, the larva source took
 * it; the shared server hands it over, marked, and then drops the client. */
static void test_unterminated_last_line_10(void)
{
    struct fixture f;
    struct agent_sockserver *s = NULL;
    char err[MSG_ERRLEN] = "";
    char got[64];
    int a;

    setup(&f, 2);
    f.rec.reply = "ok";
    TEST_CHECK(agent_sockserver_open(&s, &f.conf, err, sizeof(err)) == MSG_OK);
    a = dial(f.path);
    pump(s);
    say(a, "whole\nlast, no newline");
    TEST_CHECK(shutdown(a, SHUT_WR) == 0); /* the writer waits for its answers */
    pump(s);
    TEST_CHECK(strcmp(f.rec.seen, "whole|[last, no newline]") == 0);
    TEST_MSG("seen '%s'", f.rec.seen);
    heard(a, got, sizeof(got));
    TEST_CHECK(strcmp(got, "ok\nok\n") == 0);
    TEST_MSG("heard '%s'", got);
    close(a);
    agent_sockserver_close(s);
    teardown(&f);
}

static void test_too_long_line(void)
{
    static char big[LINEBUF_LINE_MAX + 2];
    struct fixture f;
    struct agent_sockserver *s = NULL;
    char err[MSG_ERRLEN] = "";
    int a;

    setup(&f, 1);
    TEST_CHECK(agent_sockserver_open(&s, &f.conf, err, sizeof(err)) == MSG_OK);
    a = dial(f.path);
    pump(s);
    memset(big, 'x', sizeof(big) - 1);
    say(a, big);
    say(a, "\nafter\n");
    pump(s);
    TEST_CHECK(strcmp(f.rec.seen, "!after|") == 0);
    TEST_MSG("seen '%s'", f.rec.seen);
    close(a);
    agent_sockserver_close(s);
    teardown(&f);
}

static void test_full_table_refuses_with_busy_line(void)
{
    struct fixture f;
    struct agent_sockserver *s = NULL;
    char err[MSG_ERRLEN] = "";
    char got[64];
    int a;
    int b;
    int c;

    setup(&f, 2);
    TEST_CHECK(agent_sockserver_open(&s, &f.conf, err, sizeof(err)) == MSG_OK);
    a = dial(f.path);
    b = dial(f.path);
    pump(s);
    c = dial(f.path);
    pump(s);
    heard(c, got, sizeof(got));
    TEST_CHECK(strcmp(got, "error busy\n") == 0);
    TEST_MSG("heard '%s'", got);
    say(a, "a\n");
    say(b, "b\n");
    pump(s);
    TEST_CHECK(strcmp(f.rec.seen, "a|b|") == 0 || strcmp(f.rec.seen, "b|a|") == 0);
    TEST_MSG("seen '%s'", f.rec.seen);
    /* a slot freed is taken again */
    close(a);
    pump(s);
    close(c);
    c = dial(f.path);
    pump(s);
    say(c, "c\n");
    pump(s);
    TEST_CHECK(strstr(f.rec.seen, "c|") != NULL);
    TEST_MSG("seen '%s'", f.rec.seen);
    close(b);
    close(c);
    agent_sockserver_close(s);
    teardown(&f);
}

static void test_callback_drops_client(void)
{
    struct fixture f;
    struct agent_sockserver *s = NULL;
    char err[MSG_ERRLEN] = "";
    char got[64];
    int a;

    setup(&f, 1);
    f.rec.drop_on = "bye";
    TEST_CHECK(agent_sockserver_open(&s, &f.conf, err, sizeof(err)) == MSG_OK);
    a = dial(f.path);
    pump(s);
    say(a, "one\nbye\nnever\n");
    pump(s);
    TEST_CHECK(strcmp(f.rec.seen, "one|bye|") == 0);
    TEST_MSG("seen '%s'", f.rec.seen);
    heard(a, got, sizeof(got));
    close(a);
    agent_sockserver_close(s);
    teardown(&f);
}

static void test_stale_socket_replaced_other_file_kept(void)
{
    struct fixture f;
    struct agent_sockserver *s = NULL;
    struct sockaddr_un sa;
    char err[MSG_ERRLEN] = "";
    struct stat st;
    FILE *fp = NULL;
    int old;

    setup(&f, 1);
    /* a socket a previous run left behind */
    old = socket(AF_UNIX, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f.path);
    TEST_CHECK(bind(old, (const struct sockaddr *)&sa, sizeof(sa)) == 0);
    close(old);
    TEST_CHECK(agent_sockserver_open(&s, &f.conf, err, sizeof(err)) == MSG_OK);
    TEST_MSG("%s", err);
    agent_sockserver_close(s);
    s = NULL;
    /* anything else there is a config error and stays */
    fp = fopen(f.path, "w");
    TEST_CHECK(fp != NULL);
    fclose(fp);
    TEST_CHECK(agent_sockserver_open(&s, &f.conf, err, sizeof(err)) == MSG_ERR_CONFIG);
    TEST_CHECK(s == NULL);
    TEST_CHECK(strstr(err, "test: ") == err && strstr(err, "is not a socket") != NULL);
    TEST_MSG("%s", err);
    TEST_CHECK(lstat(f.path, &st) == 0 && S_ISREG(st.st_mode));
    /* a folder that does not exist: the socket cannot be bound */
    snprintf(f.path, sizeof(f.path), "%s/none/s.sock", f.dir);
    TEST_CHECK(agent_sockserver_open(&s, &f.conf, err, sizeof(err)) == MSG_ERR_IO);
    TEST_CHECK(strstr(err, "test: socket ") == err);
    TEST_MSG("%s", err);
    snprintf(f.path, sizeof(f.path), "%s/s.sock", f.dir);
    /* a caller's bug */
    f.conf.clients = AGENT_SOCKSERVER_CLIENTS_MAX + 1;
    TEST_CHECK(agent_sockserver_open(&s, &f.conf, err, sizeof(err)) == MSG_ERR_INVAL);
    agent_sockserver_close(NULL); /* a no-op */
    teardown(&f);
}

static void test_reply_is_cut_to_one_line(void)
{
    char text[MSG_ERRLEN * 2];
    char got[MSG_ERRLEN * 2];
    int sv[2];
    ssize_t n;

    TEST_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    memset(text, 'e', sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    TEST_CHECK(agent_sockserver_reply(sv[0], text));
    n = recv(sv[1], got, sizeof(got), MSG_DONTWAIT);
    TEST_CHECK(n == MSG_ERRLEN + 15 && got[n - 1] == '\n' && got[n - 2] == 'e');
    TEST_MSG("%zd bytes", n);
    close(sv[1]);
    TEST_CHECK(!agent_sockserver_reply(sv[0], "ok")); /* nobody reads: drop the client */
    close(sv[0]);
}

TEST_LIST = {
    {"check_path_and_mode", test_check_path_and_mode},
    {"lines_from_several_clients", test_lines_from_several_clients},
    {"unterminated_last_line_10", test_unterminated_last_line_10},
    {"too_long_line", test_too_long_line},
    {"full_table_refuses_with_busy_line", test_full_table_refuses_with_busy_line},
    {"callback_drops_client", test_callback_drops_client},
    {"stale_socket_replaced_other_file_kept", test_stale_socket_replaced_other_file_kept},
    {"reply_is_cut_to_one_line", test_reply_is_cut_to_one_line},
    {NULL, NULL},
};
