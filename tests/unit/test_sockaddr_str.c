/*
 * ln_addr_str and ln_addrport_str (netcheck/ln_hostport.h): a socket
 * address printed as the HOST:PORT that ln_hostport_parse reads back, for
 * netcheck's evidence, the dlv stand-in's addresses and the relay's
 * listening line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "netcheck/ln_hostport.h"

static struct sockaddr_storage v4(const char *ip, uint16_t port)
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in *s = (struct sockaddr_in *)&ss;
    s->sin_family = AF_INET;
    s->sin_port = htons(port);
    assert_int_equal(inet_pton(AF_INET, ip, &s->sin_addr), 1);
    return ss;
}

static struct sockaddr_storage v6(const char *ip, uint16_t port)
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(port);
    assert_int_equal(inet_pton(AF_INET6, ip, &s->sin6_addr), 1);
    return ss;
}

static void test_v4(void **state)
{
    (void)state;
    char buf[64];
    struct sockaddr_storage ss = v4("127.0.0.1", 4389);
    assert_string_equal(ln_addrport_str((struct sockaddr *)&ss, buf, sizeof buf), "127.0.0.1:4389");
    assert_string_equal(ln_addr_str((struct sockaddr *)&ss, buf, sizeof buf), "127.0.0.1");
    ss = v4("0.0.0.0", 0);
    assert_string_equal(ln_addrport_str((struct sockaddr *)&ss, buf, sizeof buf), "0.0.0.0:0");
}

static void test_v6_in_brackets(void **state)
{
    (void)state;
    char buf[80];
    struct sockaddr_storage ss = v6("::1", 65535);
    assert_string_equal(ln_addrport_str((struct sockaddr *)&ss, buf, sizeof buf), "[::1]:65535");
    assert_string_equal(ln_addr_str((struct sockaddr *)&ss, buf, sizeof buf), "::1");
    ss = v6("2001:db8::ffff:1", 53);
    assert_string_equal(ln_addrport_str((struct sockaddr *)&ss, buf, sizeof buf),
                        "[2001:db8::ffff:1]:53");
}

/* What it prints, ln_hostport_parse reads back. */
static void test_parses_back(void **state)
{
    (void)state;
    struct sockaddr_storage all[] = {v4("10.1.2.3", 1), v6("fe80::1", 8080), v6("::", 2345)};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        char buf[80], host[64], ip[64], err[256];
        uint16_t port = 0;
        ln_addrport_str((struct sockaddr *)&all[i], buf, sizeof buf);
        assert_int_equal(
            ln_hostport_parse(buf, strlen(buf), 0, host, sizeof host, &port, err, sizeof err), 0);
        assert_string_equal(host, ln_addr_str((struct sockaddr *)&all[i], ip, sizeof ip));
        assert_int_equal(port, ntohs(((struct sockaddr_in *)&all[i])->sin_port));
    }
}

static void test_other_family_or_small_buffer(void **state)
{
    (void)state;
    char buf[64];
    struct sockaddr_storage ss = {0};
    ss.ss_family = AF_UNIX;
    assert_string_equal(ln_addr_str((struct sockaddr *)&ss, buf, sizeof buf), "?");
    ss = v6("2001:db8::ffff:1", 53);
    char small[8];
    assert_string_equal(ln_addr_str((struct sockaddr *)&ss, small, sizeof small), "?");
    assert_string_equal(ln_addrport_str((struct sockaddr *)&ss, small, sizeof small), "[2001:d");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v4),
        cmocka_unit_test(test_v6_in_brackets),
        cmocka_unit_test(test_parses_back),
        cmocka_unit_test(test_other_family_or_small_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
