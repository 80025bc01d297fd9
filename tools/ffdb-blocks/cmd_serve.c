/*
 * cmd_serve.c — serve: the HTTP gateway (modules/blocks/gateway.c) on
 * modules/net's loop until SIGINT or SIGTERM.
 *
 * Prints the address it listens on ("127.0.0.1:PORT") alone on stdout once
 * it accepts connections, so a script (or a test) given --port 0 learns the
 * free port picked. Requests and errors go to stderr only on exit (counts).
 */
#include <signal.h>
#include <string.h>

#include "modules/blocks/gateway.h"
#include "tools/ffdb-blocks/cli.h"

#define SIGNAL_CHECK_MS 100

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void check_stop(net_timer *t, void *arg)
{
    (void)t;
    if (stop_requested)
        net_loop_stop(arg);
}

enum { OPT_PORT = 0x100, OPT_BIND };

static int run_serve(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"port", required_argument, NULL, OPT_PORT},
                                         {"bind", required_argument, NULL, OPT_BIND},
                                         {0}};
    blocks_gateway_options go = {.bind = "127.0.0.1", .port = 8080};
    blocks_gateway *gw;
    blocks_gateway_stats st;
    net_loop *loop;
    blocks *bs;
    char err[256];
    uint64_t v;
    int o, status = 0, rc;
    while ((o = cli_getopt(c, argc, argv, "p:", opts, &status)) != -1) {
        if (o == CLI_OPT_STOP)
            return status;
        if (o == OPT_BIND) {
            go.bind = optarg;
        } else if (cli_u64(optarg, &v) != 0 || v > 65535) {
            return cli_usage(c, "--port takes 0..65535");
        } else {
            go.port = (int)v;
        }
    }
    if ((status = cli_want_args(c, argc - optind, 0, 0)) || (status = cli_open(c, 1, &bs)))
        return status;
    if ((rc = net_loop_new(NULL, &loop)) != 0) {
        cli_msg(c, "event loop: %s", strerror(-rc));
        return cli_close(c, bs, EXIT_ERROR);
    }
    if (blocks_gateway_start(bs, loop, &go, &gw, err, sizeof err) != 0) {
        cli_msg(c, "%s", err);
        net_loop_free(loop);
        return cli_close(c, bs, EXIT_ERROR);
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    net_timer_add(loop, SIGNAL_CHECK_MS, SIGNAL_CHECK_MS, check_stop, loop);
    printf("%s:%d\n", go.bind, blocks_gateway_port(gw));
    fflush(stdout);
    if ((rc = net_loop_run(loop)) != 0) {
        cli_msg(c, "event loop: %s", strerror(-rc));
        status = EXIT_ERROR;
    }
    blocks_gateway_stats_get(gw, &st);
    cli_msg(c, "%llu requests: %llu 2xx, %llu 3xx, %llu 4xx, %llu 5xx",
            (unsigned long long)st.requests, (unsigned long long)st.status[2],
            (unsigned long long)st.status[3], (unsigned long long)st.status[4],
            (unsigned long long)st.status[5]);
    blocks_gateway_stop(gw);
    net_loop_free(loop);
    return cli_close(c, bs, status);
}

const struct cli_cmd cmd_serve = {
    "serve", run_serve, "serve [--port P] [--bind ADDR]",
    "HTTP gateway: the IPFS trustless gateway subset (GET/HEAD /ipfs/CID)",
    "Listens on ADDR (127.0.0.1) port P (8080; 0 picks a free one) and prints\n"
    "ADDR:PORT on stdout. GET /ipfs/CID with Accept: application/vnd.ipld.raw\n"
    "(or ?format=raw) returns the block, with application/vnd.ipld.car (or\n"
    "?format=car; ?dag-scope=block|entity|all) a CARv1 of the DAG, otherwise the\n"
    "UnixFS file's bytes (/ipfs/CID/path through directories). 400 bad CID, 404\n"
    "not in the store, 406 nothing acceptable, 405 other methods. Stops on SIGINT\n"
    "or SIGTERM.\n"};
