/*
 * test_resp_geo.c — the GEO commands end to end (the built ffdb-server on a
 * loopback port, tests/test_resp_util.h): the scores Redis stores, the
 * reply formats (four-decimal distances, 17-decimal coordinates, 11-letter
 * geohashes), searches at the poles and across the antimeridian, STORE and
 * STOREDIST, and every error reply in Redis 7.0's order of checks. Expected
 * values were taken from redis-server 7.0.15; tests/test_resp_diff.c (the
 * `geo` stream) compares random commands with a live one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/test_resp_util.h"
#include "tests/testutil.h"

TestSuite(resp_geo, .init = rs_setup, .fini = rs_teardown, .timeout = 60);

static void sicily(int fd)
{
    EQ(fd, ":3", "GEOADD", "Sicily", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669",
       "Catania", "13.583333", "37.316667", "Agrigento");
}

Test(resp_geo, scores_and_formats)
{
    rs_server *srv = rs_start(NULL);
    int fd = rs_connect(srv);

    sicily(fd);
    /* the 52-bit geohash is the score, as Redis stores it */
    EQ(fd, "\"3479099956230698\"", "ZSCORE", "Sicily", "Palermo");
    EQ(fd, "\"3479447370796909\"", "ZSCORE", "Sicily", "Catania");
    /* an integer score is printed as one (Redis's unit/geo "Check geoset
     * values": the shortest form was 1.79187397205302e+15) */
    EQ(fd, ":1", "GEOADD", "nyc", "-74.0131604", "40.7126674", "wtc one");
    EQ(fd, "\"1791873972053020\"", "ZSCORE", "nyc", "wtc one");
    EQ(fd, "[[\"13.36138933897018433\",\"38.11555639549629859\"],nil]", "GEOPOS", "Sicily",
       "Palermo", "nope");
    EQ(fd, "[\"sqc8b49rny0\",\"sqdtr74hyu0\",nil]", "GEOHASH", "Sicily", "Palermo", "Catania",
       "nope");
    EQ(fd, "\"166274.1516\"", "GEODIST", "Sicily", "Palermo", "Catania");
    EQ(fd, "\"166.2742\"", "GEODIST", "Sicily", "Palermo", "Catania", "km");
    EQ(fd, "\"103.3182\"", "GEODIST", "Sicily", "Palermo", "Catania", "mi");
    EQ(fd, "\"545518.8700\"", "GEODIST", "Sicily", "Palermo", "Catania", "ft");
    EQ(fd, "nil", "GEODIST", "Sicily", "Palermo", "nope");
    EQ(fd, "nil", "GEODIST", "nokey", "a", "b");
    EQ(fd, "[nil,nil]", "GEOPOS", "nokey", "a", "b");
    /* NX, XX, CH */
    EQ(fd, ":0", "GEOADD", "Sicily", "NX", "CH", "13.361389", "38.115556", "Palermo", "15", "37",
       "Catania");
    EQ(fd, ":1", "GEOADD", "Sicily", "XX", "CH", "15", "37", "Catania", "1", "1", "New");
    EQ(fd, ":0", "EXISTS", "nokey");
    EQ(fd, ":0", "GEOADD", "nokey", "XX", "1", "1", "m");
    EQ(fd, ":0", "EXISTS", "nokey");
    rs_close(fd);
}

Test(resp_geo, searches)
{
    rs_server *srv = rs_start(NULL);
    int fd = rs_connect(srv);

    sicily(fd);
    EQ(fd,
       "[[\"Catania\",\"56.4413\",[\"15.08726745843887329\",\"37.50266842333162032\"]],"
       "[\"Agrigento\",\"130.4235\",[\"13.5833314061164856\",\"37.31666804993816555\"]],"
       "[\"Palermo\",\"190.4424\",[\"13.36138933897018433\",\"38.11555639549629859\"]]]",
       "GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHDIST", "WITHCOORD", "ASC");
    EQ(fd, "[\"Palermo\"]", "GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200",
       "km", "DESC", "COUNT", "1");
    EQ(fd, "[[\"Agrigento\",\"0.0000\",:3479030013248308]]", "GEORADIUSBYMEMBER_RO", "Sicily",
       "Agrigento", "10", "km", "WITHDIST", "WITHHASH");
    EQ(fd, "[\"Palermo\",\"Agrigento\"]", "GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX",
       "200", "200", "km", "ASC");
    EQ(fd, ":2", "GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "150",
       "km", "STOREDIST");
    /* the same doubles as Redis's; printed in their shortest form (Redis:
     * 56.441257870158204) */
    EQ(fd, "[\"Catania\",\"56.4412578701582\",\"Agrigento\",\"130.42348706714702\"]", "ZRANGE",
       "dst", "0", "-1", "WITHSCORES");
    EQ(fd, ":1", "GEORADIUS", "Sicily", "15", "37", "100", "km", "STORE", "dst");
    EQ(fd, "[\"Catania\",\"3479447370796909\"]", "ZRANGE", "dst", "0", "-1", "WITHSCORES");
    /* nothing found: the store key goes */
    EQ(fd, ":0", "GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "m");
    EQ(fd, ":0", "EXISTS", "dst");
    /* the poles and the antimeridian */
    EQ(fd, ":4", "GEOADD", "w", "179.9999", "0.5", "east", "-179.9999", "0.5", "west", "0",
       "85.05112878", "north", "0", "-85.05112878", "south");
    /* Redis's boxes do not wrap around the antimeridian: "west", as near
     * as "east", is not found */
    EQ(fd, "[[\"east\",\"55.6132\"]]", "GEOSEARCH", "w", "FROMLONLAT", "180", "0", "BYRADIUS",
       "100", "km", "ASC", "WITHDIST");
    EQ(fd, "[[\"north\",\"0.0000\"]]", "GEOSEARCH", "w", "FROMMEMBER", "north", "BYRADIUS",
       "10000", "km", "ASC", "WITHDIST", "COUNT", "2");
    rs_close(fd);
}

Test(resp_geo, errors)
{
    rs_server *srv = rs_start(NULL);
    int fd = rs_connect(srv);
    static const char *const WT = "-WRONGTYPE Operation against a key holding the wrong kind of value";

    sicily(fd);
    EQ(fd, "-ERR syntax error", "GEOADD", "k", "nx", "xx", "1", "2", "m");
    EQ(fd, "-ERR syntax error", "GEOADD", "k", "1", "2", "m", "3");
    EQ(fd, "-ERR syntax error", "GEOADD", "k", "GT", "1", "2", "m");
    EQ(fd, "-ERR invalid longitude,latitude pair 200.000000,100.000000", "GEOADD", "k", "200",
       "100", "m");
    EQ(fd, "-ERR value is not a valid float", "GEOADD", "k", "abc", "1", "m");
    EQ(fd, "-ERR wrong number of arguments for 'geoadd' command", "GEOADD", "k", "1", "2");
    EQ(fd, "-ERR unsupported unit provided. please use M, KM, FT, MI", "GEODIST", "Sicily", "a",
       "b", "yd");
    EQ(fd, "-ERR syntax error", "GEODIST", "Sicily", "a", "b", "km", "x");
    EQ(fd, "-ERR need numeric radius", "GEORADIUS", "Sicily", "15", "37", "abc", "km");
    EQ(fd, "-ERR radius cannot be negative", "GEORADIUS", "Sicily", "15", "37", "-1", "km");
    EQ(fd, "-ERR need numeric width", "GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1", "BYBOX", "x",
       "1", "m");
    EQ(fd, "-ERR height or width cannot be negative", "GEOSEARCH", "Sicily", "FROMLONLAT", "1",
       "1", "BYBOX", "1", "-1", "m");
    EQ(fd, "-ERR COUNT must be > 0", "GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1", "BYRADIUS",
       "1", "m", "COUNT", "0");
    EQ(fd, "-ERR the ANY argument requires COUNT argument", "GEOSEARCH", "Sicily", "FROMLONLAT",
       "1", "1", "BYRADIUS", "1", "m", "ANY");
    EQ(fd, "-ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for GeoSearch",
       "GeoSearch", "Sicily", "BYRADIUS", "1", "m", "ASC", "WITHDIST");
    EQ(fd, "-ERR exactly one of BYRADIUS and BYBOX can be specified for geosearch", "geosearch",
       "Sicily", "FROMLONLAT", "1", "1", "ASC", "WITHDIST");
    EQ(fd, "-ERR syntax error", "GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1", "FROMMEMBER",
       "Palermo", "BYRADIUS", "1", "m");
    EQ(fd, "-ERR syntax error", "GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1", "BYRADIUS", "1",
       "m", "STORE", "x");
    EQ(fd, "-ERR syntax error", "GEORADIUS_RO", "Sicily", "15", "37", "1", "km", "STORE", "x");
    EQ(fd, "-ERR could not decode requested zset member", "GEOSEARCH", "Sicily", "FROMMEMBER",
       "nope", "BYRADIUS", "1", "m");
    EQ(fd, "-ERR could not decode requested zset member", "GEORADIUSBYMEMBER", "Sicily", "nope",
       "1", "m");
    EQ(fd,
       "-ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD "
       "options",
       "GEORADIUS", "Sicily", "15", "37", "1", "km", "STORE", "x", "WITHDIST");
    EQ(fd, "-ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
       "GEOSEARCHSTORE", "d", "Sicily", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "m", "WITHHASH");
    /* a missing key: an empty answer, even with a radius that is no number */
    EQ(fd, "[]", "GEORADIUSBYMEMBER", "nokey", "m", "abc", "xyz");
    EQ(fd, "[]", "GEOSEARCH", "nokey", "FROMMEMBER", "m", "BYRADIUS", "1", "m");
    EQ(fd, "OK", "SET", "str", "x");
    EQ(fd, WT, "GEOADD", "str", "1", "1", "m");
    EQ(fd, WT, "GEOPOS", "str", "m");
    EQ(fd, WT, "GEODIST", "str", "a", "b");
    EQ(fd, WT, "GEOSEARCH", "str", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "x");
    /* coordinates are checked before the key's type */
    EQ(fd, "-ERR invalid longitude,latitude pair 1.000000,90.000000", "GEOADD", "str", "1", "90",
       "m");
    rs_close(fd);
}
