/*
 * cmd_geo.c — the GEO commands: GEOADD (NX XX CH) GEOPOS GEODIST GEOHASH
 * GEOSEARCH GEOSEARCHSTORE GEORADIUS GEORADIUSBYMEMBER (and their _RO
 * forms), on the sorted set type exactly as Redis 7.0 stores them.
 *
 * A point is a member of a sorted set whose score is the 52-bit geohash of
 * its coordinates: longitude (-180..180) and latitude (-85.05112878..
 * 85.05112878, the Web Mercator limits) each cut into 2^26 steps, the two
 * step numbers interleaved bit by bit (latitude in the even bits), the
 * integer stored as the double score. ZRANGE, ZSCORE and DUMP of a geo key
 * therefore show what Redis shows, and ZADD of such scores makes points.
 *
 * A search (GEOSEARCH and GEORADIUS*) walks Redis's nine geohash boxes: the
 * box of the centre at a precision chosen from the radius (one step less
 * when a neighbour box would not reach the search area's edge), its eight
 * neighbours minus those entirely outside the area, in the order centre, N,
 * S, E, W, NE, NW, SE, SW, a box repeated right after the one processed
 * last skipped. Each box is a score range [min, max) of the zscore index
 * (store.h), visited in score order; a member is kept if its decoded point
 * lies within the radius (haversine distance, Earth radius 6372797.560856
 * m) or the box (latitude distance, then longitude distance along the
 * point's parallel). Unsorted replies come in that walk's order, which is
 * Redis's, and COUNT ANY stops the walk where Redis stops it; ASC/DESC sort
 * by distance, stably (Redis uses libc qsort, and its own partial quicksort
 * when COUNT cuts the result, so members at exactly the same distance can
 * come in another order then).
 *
 * Replies copy Redis's formats: distances with four decimals (rounded as
 * llrint(d * 10000)), coordinates as a long double with 17 decimals and
 * trailing zeros removed (RESP3: a double), GEOHASH as 11 base-32
 * characters of the point re-encoded over latitude -90..90. Every error
 * reply and the order in which arguments are checked are Redis 7.0's.
 *
 * Called from the command table (cmd.c); writes only through store.h, and
 * keeps the sorted set's two spaces together as cmd_zset.c does (Z1).
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modules/redis/cmd.h"

#define GEO_STEP_MAX 26 /* 26 * 2 = 52 bits */
#define GEO_LAT_MIN -85.05112878
#define GEO_LAT_MAX 85.05112878
#define GEO_LONG_MIN -180.0
#define GEO_LONG_MAX 180.0
#define GEO_EARTH_RADIUS_M 6372797.560856
#define GEO_MERCATOR_MAX 20037726.37
#define GEO_DEG_TO_RAD 0.017453292519943295769236907684886

typedef struct gh_bits {
    uint64_t bits;
    unsigned step; /* 0 with bits 0: a box left out */
} gh_bits;

typedef struct gh_range {
    double min, max;
} gh_range;

typedef struct gh_area {
    gh_range lon, lat;
} gh_area;

static const gh_range lon_range = {GEO_LONG_MIN, GEO_LONG_MAX};
static const gh_range lat_range = {GEO_LAT_MIN, GEO_LAT_MAX};

/* ---- geohash ------------------------------------------------------------------------------ */

/* x in the even bits, y in the odd ones. */
static uint64_t interleave(uint32_t x, uint32_t y)
{
    uint64_t out = 0;

    for (unsigned i = 0; i < 32; i++)
        out |= (uint64_t)((x >> i) & 1) << (2 * i) | (uint64_t)((y >> i) & 1) << (2 * i + 1);
    return out;
}

/* The even bits in the low word, the odd ones in the high word. */
static uint64_t deinterleave(uint64_t v)
{
    uint64_t x = 0, y = 0;

    for (unsigned i = 0; i < 32; i++) {
        x |= ((v >> (2 * i)) & 1) << i;
        y |= ((v >> (2 * i + 1)) & 1) << i;
    }
    return x | y << 32;
}

/* 0 if the point is outside the ranges (or the limits). */
static int gh_encode(const gh_range *lon, const gh_range *lat, double x, double y, unsigned step,
                     gh_bits *h)
{
    double lat_off, lon_off;

    assert(step >= 1 && step <= 32);
    if (x > GEO_LONG_MAX || x < GEO_LONG_MIN || y > GEO_LAT_MAX || y < GEO_LAT_MIN)
        return 0;
    if (y < lat->min || y > lat->max || x < lon->min || x > lon->max)
        return 0;
    lat_off = (y - lat->min) / (lat->max - lat->min) * (double)(1ull << step);
    lon_off = (x - lon->min) / (lon->max - lon->min) * (double)(1ull << step);
    h->bits = interleave((uint32_t)lat_off, (uint32_t)lon_off);
    h->step = step;
    return 1;
}

static void gh_decode(gh_bits h, gh_area *a)
{
    uint64_t sep = deinterleave(h.bits);
    uint32_t ilat = (uint32_t)sep, ilon = (uint32_t)(sep >> 32);
    double scale = (double)(1ull << h.step);

    a->lat.min = lat_range.min + (ilat * 1.0 / scale) * (lat_range.max - lat_range.min);
    a->lat.max = lat_range.min + ((ilat + 1.0) / scale) * (lat_range.max - lat_range.min);
    a->lon.min = lon_range.min + (ilon * 1.0 / scale) * (lon_range.max - lon_range.min);
    a->lon.max = lon_range.min + ((ilon + 1.0) / scale) * (lon_range.max - lon_range.min);
}

/* A double score as x86-64 turns it into an unsigned 64-bit integer
 * (cvttsd2si, with 2^63 subtracted above it; out of range gives 2^63), so
 * scores that are not geohashes decode to what Redis decodes them to. */
static uint64_t score_bits(double s)
{
    const double two63 = 9223372036854775808.0;

    if (s < two63)
        return s >= -two63 ? (uint64_t)(int64_t)s : UINT64_C(1) << 63;
    s -= two63;
    return (s < two63 ? (uint64_t)(int64_t)s : UINT64_C(1) << 63) ^ (UINT64_C(1) << 63);
}

/* The point of a score: the middle of its 52-bit box, clamped. */
static void score_point(double score, double xy[2])
{
    gh_bits h = {score_bits(score), GEO_STEP_MAX};
    gh_area a;

    gh_decode(h, &a);
    xy[0] = (a.lon.min + a.lon.max) / 2;
    xy[0] = xy[0] > GEO_LONG_MAX ? GEO_LONG_MAX : xy[0] < GEO_LONG_MIN ? GEO_LONG_MIN : xy[0];
    xy[1] = (a.lat.min + a.lat.max) / 2;
    xy[1] = xy[1] > GEO_LAT_MAX ? GEO_LAT_MAX : xy[1] < GEO_LAT_MIN ? GEO_LAT_MIN : xy[1];
}

static uint64_t align52(gh_bits h)
{
    return h.bits << (52 - h.step * 2);
}

/* One step along longitude (odd bits) or latitude (even bits), wrapping. */
static void gh_move(gh_bits *h, int d, int along_lon)
{
    uint64_t mine = along_lon ? 0xaaaaaaaaaaaaaaaaull : 0x5555555555555555ull;
    uint64_t other = ~mine;
    uint64_t v = h->bits & mine, rest = h->bits & other;
    uint64_t zz = other >> (64 - h->step * 2);

    if (d == 0)
        return;
    if (d > 0) {
        v += zz + 1;
    } else {
        v |= zz;
        v -= zz + 1;
    }
    v &= mine >> (64 - h->step * 2);
    h->bits = v | rest;
}

static double deg_rad(double a)
{
    return a * GEO_DEG_TO_RAD;
}

static double rad_deg(double a)
{
    return a / GEO_DEG_TO_RAD;
}

static double lat_distance(double lat1, double lat2)
{
    return GEO_EARTH_RADIUS_M * fabs(deg_rad(lat2) - deg_rad(lat1));
}

/* Haversine, as Redis's geohashGetDistance. */
static double geo_distance(double lon1, double lat1, double lon2, double lat2)
{
    double u, v = sin((deg_rad(lon2) - deg_rad(lon1)) / 2), a;

    if (v == 0.0)
        return lat_distance(lat1, lat2);
    u = sin((deg_rad(lat2) - deg_rad(lat1)) / 2);
    a = u * u + cos(deg_rad(lat1)) * cos(deg_rad(lat2)) * v * v;
    return 2.0 * GEO_EARTH_RADIUS_M * asin(sqrt(a));
}

/* ---- the search area ---------------------------------------------------------------------- */

typedef struct geo_shape {
    int box;           /* BYBOX, else BYRADIUS */
    double xy[2];      /* the centre */
    double radius;     /* in the unit */
    double width, height;
    double conversion; /* metres per unit */
    double bounds[4];  /* min lon, min lat, max lon, max lat */
} geo_shape;

static unsigned steps_by_radius(double range_m, double lat)
{
    int step = 1;

    if (range_m == 0)
        return 26;
    while (range_m < GEO_MERCATOR_MAX) {
        range_m *= 2;
        step++;
    }
    step -= 2;
    if (lat > 66 || lat < -66) {
        step--;
        if (lat > 80 || lat < -80)
            step--;
    }
    return step < 1 ? 1 : step > 26 ? 26 : (unsigned)step;
}

static void bounding_box(geo_shape *s)
{
    double lon = s->xy[0], lat = s->xy[1];
    double height = s->conversion * (s->box ? s->height / 2 : s->radius);
    double width = s->conversion * (s->box ? s->width / 2 : s->radius);
    double lat_delta = rad_deg(height / GEO_EARTH_RADIUS_M);
    double top = rad_deg(width / GEO_EARTH_RADIUS_M / cos(deg_rad(lat + lat_delta)));
    double bottom = rad_deg(width / GEO_EARTH_RADIUS_M / cos(deg_rad(lat - lat_delta)));
    int south = lat < 0;

    s->bounds[0] = south ? lon - bottom : lon - top;
    s->bounds[2] = south ? lon + bottom : lon + top;
    s->bounds[1] = lat - lat_delta;
    s->bounds[3] = lat + lat_delta;
}

/* The nine boxes in Redis's order: centre, N, S, E, W, NE, NW, SE, SW. */
enum { B_C, B_N, B_S, B_E, B_W, B_NE, B_NW, B_SE, B_SW, B_COUNT };

static void neighbours(gh_bits c, gh_bits *b)
{
    static const signed char dx[B_COUNT] = {0, 0, 0, 1, -1, 1, -1, 1, -1};
    static const signed char dy[B_COUNT] = {0, 1, -1, 0, 0, 1, 1, -1, -1};

    for (int i = 0; i < B_COUNT; i++) {
        b[i] = c;
        gh_move(&b[i], dx[i], 1);
        gh_move(&b[i], dy[i], 0);
    }
}

static void box_zero(gh_bits *b, int i, int j, int k)
{
    b[i] = b[j] = b[k] = (gh_bits){0, 0};
}

/* Redis's geohashCalculateAreasByShapeWGS84. */
static void search_boxes(geo_shape *s, gh_bits *b)
{
    double r = s->box ? sqrt((s->width / 2) * (s->width / 2) + (s->height / 2) * (s->height / 2))
                      : s->radius;
    unsigned steps = steps_by_radius(r * s->conversion, s->xy[1]);
    gh_bits c = {0, 0};
    gh_area area, n, so, e, w;

    bounding_box(s);
    gh_encode(&lon_range, &lat_range, s->xy[0], s->xy[1], steps, &c);
    neighbours(c, b);
    gh_decode(b[B_N], &n);
    gh_decode(b[B_S], &so);
    gh_decode(b[B_E], &e);
    gh_decode(b[B_W], &w);
    if (steps > 1 && (n.lat.max < s->bounds[3] || so.lat.min > s->bounds[1] ||
                      e.lon.max < s->bounds[2] || w.lon.min > s->bounds[0])) {
        steps--;
        gh_encode(&lon_range, &lat_range, s->xy[0], s->xy[1], steps, &c);
        neighbours(c, b);
    }
    gh_decode(c, &area);
    if (steps >= 2) {
        if (area.lat.min < s->bounds[1])
            box_zero(b, B_S, B_SW, B_SE);
        if (area.lat.max > s->bounds[3])
            box_zero(b, B_N, B_NE, B_NW);
        if (area.lon.min < s->bounds[0])
            box_zero(b, B_W, B_SW, B_NW);
        if (area.lon.max > s->bounds[2])
            box_zero(b, B_E, B_SE, B_NE);
    }
}

/* 1 and the distance (metres) if the point is in the shape. */
static int in_shape(const geo_shape *s, const double xy[2], double *dist)
{
    if (!s->box) {
        *dist = geo_distance(s->xy[0], s->xy[1], xy[0], xy[1]);
        return *dist <= s->radius * s->conversion;
    }
    if (lat_distance(xy[1], s->xy[1]) > s->height * s->conversion / 2)
        return 0;
    if (geo_distance(xy[0], xy[1], s->xy[0], xy[1]) > s->width * s->conversion / 2)
        return 0;
    *dist = geo_distance(s->xy[0], s->xy[1], xy[0], xy[1]);
    return 1;
}

/* ---- the points found --------------------------------------------------------------------- */

typedef struct geo_point {
    double xy[2], dist, score;
    size_t off, n; /* the member in the found list's byte pool */
} geo_point;

typedef struct geo_found {
    geo_point *pt;
    size_t used, cap;
    char *pool;
    size_t pool_used, pool_cap;
} geo_found;

static int found_add(geo_found *g, const double xy[2], double dist, double score, const ffdb_val *m)
{
    if (g->used == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 16;
        geo_point *p = realloc(g->pt, cap * sizeof(*p));
        if (!p)
            return FFDB_ENOMEM;
        g->pt = p;
        g->cap = cap;
    }
    if (g->pool_used + m->size > g->pool_cap) {
        size_t cap = g->pool_cap ? g->pool_cap : 256;
        char *p;
        while (cap < g->pool_used + m->size)
            cap *= 2;
        p = realloc(g->pool, cap);
        if (!p)
            return FFDB_ENOMEM;
        g->pool = p;
        g->pool_cap = cap;
    }
    if (m->size)
        memcpy(g->pool + g->pool_used, m->data, m->size);
    g->pt[g->used++] = (geo_point){{xy[0], xy[1]}, dist, score, g->pool_used, m->size};
    g->pool_used += m->size;
    return 0;
}

static void found_free(geo_found *g)
{
    free(g->pt);
    free(g->pool);
}

/* Members of one box (scores [min, max)) that lie in the shape; stops at
 * limit (0 = none) as Redis's geoGetPointsInRange does. */
static int box_members(store_iter *it, gh_bits b, const geo_shape *s, geo_found *g, size_t limit)
{
    gh_bits up = {b.bits + 1, b.step};
    double min = (double)align52(b), max = (double)align52(up), score;
    uint8_t k[8];
    ffdb_val f, v, member;
    int rc;

    store_score_encode(min, k);
    for (rc = store_iter_seek(it, k, 8, &f, &v); rc == 0; rc = store_iter_next(it, &f, &v)) {
        double xy[2], dist = 0;
        rc = store_zscore_split(&f, &score, &member);
        if (rc || !(score < max))
            break;
        score_point(score, xy);
        if (in_shape(s, xy, &dist) && (rc = found_add(g, xy, dist, score, &member)))
            break;
        if (g->used && limit && g->used >= limit)
            break;
    }
    return rc == FFDB_NOTFOUND ? 0 : rc;
}

/* Redis's membersOfAllNeighbors. */
static int search(resp_ctx *c, const store_meta *m, geo_shape *s, geo_found *g, size_t limit)
{
    gh_bits b[B_COUNT];
    store_iter *it;
    int last = 0, rc;

    search_boxes(s, b);
    rc = store_iter_open(c->st, m, STORE_ZSCORE, &it);
    for (int i = 0; rc == 0 && i < B_COUNT; i++) {
        if (b[i].bits == 0 && b[i].step == 0)
            continue;
        if (last && b[i].bits == b[last].bits && b[i].step == b[last].step)
            continue;
        if (g->used && limit && g->used >= limit)
            break;
        rc = box_members(it, b[i], s, g, limit);
        last = i;
    }
    store_iter_close(it);
    return rc;
}

/* A stable sort by distance (insertion into runs, then merges). */
static void sort_by_dist(geo_point *p, size_t n, int desc)
{
    geo_point *tmp = n > 1 ? malloc(n * sizeof(*tmp)) : NULL;

    if (!tmp) { /* tiny, or no memory: insertion sort, also stable */
        for (size_t i = 1; i < n; i++) {
            geo_point x = p[i];
            size_t j = i;
            for (; j > 0 && (desc ? p[j - 1].dist < x.dist : p[j - 1].dist > x.dist); j--)
                p[j] = p[j - 1];
            p[j] = x;
        }
        return;
    }
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t a = lo, b = mid, o = lo;
            while (a < mid && b < hi)
                tmp[o++] = (desc ? p[b].dist > p[a].dist : p[b].dist < p[a].dist) ? p[b++] : p[a++];
            while (a < mid)
                tmp[o++] = p[a++];
            while (b < hi)
                tmp[o++] = p[b++];
        }
        memcpy(p, tmp, n * sizeof(*p));
    }
    free(tmp);
}

/* ---- argument helpers --------------------------------------------------------------------- */

/* A longitude and a latitude: 0, or 1 after an error reply. */
static int arg_lonlat(resp_ctx *c, const resp_arg *a, double xy[2])
{
    for (int i = 0; i < 2; i++)
        if (resp_arg_double(c->r, &a[i], &xy[i]))
            return 1;
    if (xy[0] < GEO_LONG_MIN || xy[0] > GEO_LONG_MAX || xy[1] < GEO_LAT_MIN ||
        xy[1] > GEO_LAT_MAX) {
        reply_errorf(c->r, "ERR invalid longitude,latitude pair %f,%f", xy[0], xy[1]);
        return 1;
    }
    return 0;
}

/* Metres per unit, or -1 after an error reply. */
static double arg_unit(resp_ctx *c, const resp_arg *a)
{
    if (resp_arg_is(a, "m"))
        return 1;
    if (resp_arg_is(a, "km"))
        return 1000;
    if (resp_arg_is(a, "ft"))
        return 0.3048;
    if (resp_arg_is(a, "mi"))
        return 1609.34;
    reply_error(c->r, "ERR unsupported unit provided. please use M, KM, FT, MI");
    return -1;
}

/* A double with Redis's custom message for a non-number. */
static int arg_num(resp_ctx *c, const resp_arg *a, const char *what, double *out)
{
    if (resp_parse_double(a->p, a->n, out) == 0)
        return 0;
    reply_errorf(c->r, "ERR need numeric %s", what);
    return 1;
}

/* radius unit: 0, or 1 after an error reply. */
static int arg_radius(resp_ctx *c, const resp_arg *a, geo_shape *s)
{
    if (arg_num(c, a, "radius", &s->radius))
        return 1;
    if (s->radius < 0) {
        reply_error(c->r, "ERR radius cannot be negative");
        return 1;
    }
    s->conversion = arg_unit(c, &a[1]);
    s->box = 0;
    return s->conversion < 0;
}

/* width height unit. */
static int arg_box(resp_ctx *c, const resp_arg *a, geo_shape *s)
{
    if (arg_num(c, a, "width", &s->width) || arg_num(c, &a[1], "height", &s->height))
        return 1;
    if (s->height < 0 || s->width < 0) {
        reply_error(c->r, "ERR height or width cannot be negative");
        return 1;
    }
    s->conversion = arg_unit(c, &a[2]);
    s->box = 1;
    return s->conversion < 0;
}

/* A member's score: 0, FFDB_NOTFOUND, or an engine code. */
static int member_score(resp_ctx *c, const store_meta *m, const resp_arg *a, double *score)
{
    return redis_zset_score(c, m, a->p, a->n, score);
}

/* The sorted set at key: 1 if there is one, 0 if none, or an error
 * (WRONGTYPE replied: 2) or an engine code. */
static int geo_key(resp_ctx *c, const resp_arg *key, store_meta *m)
{
    int rc = store_lookup_type(c->st, c->db, key->p, key->n, STORE_ZSET, m);

    if (rc == 0)
        return 1;
    if (rc == FFDB_NOTFOUND)
        return 0;
    rc = redis_store_error(c, rc);
    return rc ? rc : 2;
}

/* ---- replies ------------------------------------------------------------------------------ */

/* Redis's addReplyDoubleDistance: four decimals, rounded by llrint. */
static void reply_distance(resp_reply *r, double d)
{
    char buf[48];
    long long v = llrint(d * 10000.0);
    unsigned long long a = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    int n = snprintf(buf, sizeof(buf), "%s%llu.%04llu", v < 0 ? "-" : "", a / 10000, a % 10000);

    reply_bulk(r, buf, (size_t)n);
}

/* Redis's addReplyHumanLongDouble: 17 decimals, trailing zeros cut. */
static void reply_coord(resp_reply *r, double d)
{
    char buf[64];
    size_t n = resp_format_long_double(buf + 1, sizeof(buf) - 3, d);

    assert(n > 0); /* a coordinate is finite and small */
    if (r->proto >= 3) {
        buf[0] = ',';
        memcpy(buf + 1 + n, "\r\n", 2);
        net_buf_append(r->out, buf, n + 3);
        return;
    }
    reply_bulk(r, buf + 1, n);
}

/* ---- commands ----------------------------------------------------------------------------- */

/* One point of GEOADD, as Redis's zsetAdd with NX/XX: counted in *added
 * (new) or *changed (moved). */
static int geoadd_one(resp_ctx *c, store_meta *m, const resp_arg *mem, double score, int nx,
                      int xx, int64_t *added, int64_t *changed)
{
    double cur;
    uint8_t enc[8];
    int rc = member_score(c, m, mem, &cur);

    if (rc && rc != FFDB_NOTFOUND)
        return rc;
    if ((rc == 0 && (nx || cur == score)) || (rc == FFDB_NOTFOUND && xx))
        return 0;
    if (rc == 0) {
        rc = store_zscore_del(c->st, m, cur, mem->p, mem->n);
        ++*changed;
    } else {
        rc = 0;
        m->size++;
        ++*added;
    }
    store_score_encode(score, enc);
    if (!rc)
        rc = store_zscore_put(c->st, m, score, mem->p, mem->n);
    return rc ? rc : store_sub_put(c->st, m, mem->p, mem->n, enc, 8);
}

/* GEOADD key [NX|XX] [CH] longitude latitude member [...] */
static int geoadd_cmd(resp_ctx *c)
{
    int at = 2, nx = 0, xx = 0, ch = 0, rc;
    int64_t added = 0, changed = 0;
    double *scores;
    store_meta m;

    for (; at < c->argc; at++) {
        if (resp_arg_is(&c->argv[at], "nx"))
            nx = 1;
        else if (resp_arg_is(&c->argv[at], "xx"))
            xx = 1;
        else if (resp_arg_is(&c->argv[at], "ch"))
            ch = 1;
        else
            break;
    }
    if ((c->argc - at) % 3 || (nx && xx) || c->argc == at)
        return resp_err_syntax(c->r);
    scores = malloc(sizeof(*scores) * (size_t)((c->argc - at) / 3));
    if (!scores)
        return FFDB_ENOMEM;
    for (int i = at, j = 0; i < c->argc; i += 3, j++) {
        double xy[2];
        gh_bits h;
        if (arg_lonlat(c, &c->argv[i], xy)) {
            free(scores);
            return 0;
        }
        gh_encode(&lon_range, &lat_range, xy[0], xy[1], GEO_STEP_MAX, &h);
        scores[j] = (double)align52(h);
    }
    for (int i = at + 2; i < c->argc; i += 3)
        if (c->argv[i].n > STORE_MAX_FIELD) {
            free(scores);
            return redis_store_error(c, STORE_EFIELDLEN);
        }
    rc = geo_key(c, &c->argv[1], &m);
    if (rc == 0 && !xx)
        rc = store_meta_create(c->st, c->db, c->argv[1].p, c->argv[1].n, STORE_ZSET, &m);
    else if (rc == 0) /* XX and no key: nothing to add */
        rc = 3;
    else if (rc == 1)
        rc = 0;
    for (int i = at, j = 0; i < c->argc && rc == 0; i += 3, j++)
        rc = geoadd_one(c, &m, &c->argv[i + 2], scores[j], nx, xx, &added, &changed);
    free(scores);
    if (rc == 0 && (added || changed || !m.saved))
        rc = store_meta_save(c->st, &m);
    if (rc == 2)
        return 0; /* WRONGTYPE replied */
    if (rc && rc != 3)
        return redis_store_error(c, rc);
    reply_int(c->r, ch ? added + changed : added);
    return 0;
}

/* GEOPOS and GEOHASH: an array with, for each member from argv[2], what
 * emit makes of its point, or what none replies for a member not there. */
typedef void (*geo_point_fn)(resp_reply *r, const double xy[2]);
static int geo_members_reply(resp_ctx *c, void (*none)(resp_reply *r), geo_point_fn emit)
{
    store_meta m;
    int have = geo_key(c, &c->argv[1], &m);

    if (have < 0 || have == 2)
        return have < 0 ? have : 0;
    reply_array(c->r, (size_t)(c->argc - 2));
    for (int i = 2; i < c->argc; i++) {
        double score, xy[2];
        int rc = have ? member_score(c, &m, &c->argv[i], &score) : FFDB_NOTFOUND;
        if (rc == FFDB_NOTFOUND) {
            none(c->r);
            continue;
        }
        if (rc)
            return rc;
        score_point(score, xy);
        emit(c->r, xy);
    }
    return 0;
}

static void reply_position(resp_reply *r, const double xy[2])
{
    reply_array(r, 2);
    reply_coord(r, xy[0]);
    reply_coord(r, xy[1]);
}

/* GEOPOS key member [member ...] */
static int geopos_cmd(resp_ctx *c)
{
    return geo_members_reply(c, reply_null_array, reply_position);
}

/* The 11-character geohash of a point, as Redis writes it. */
static void reply_geohash(resp_reply *r, const double xy[2])
{
    static const char alphabet[] = "0123456789bcdefghjkmnpqrstuvwxyz";
    static const gh_range lon = {-180, 180}, lat = {-90, 90};
    gh_bits h = {0, 0};
    char buf[11];

    gh_encode(&lon, &lat, xy[0], xy[1], 26, &h);
    for (int j = 0; j < 11; j++)
        buf[j] = alphabet[j == 10 ? 0 : (h.bits >> (52 - (j + 1) * 5)) & 0x1f];
    reply_bulk(r, buf, sizeof(buf));
}

/* GEOHASH key member [member ...] */
static int geohash_cmd(resp_ctx *c)
{
    return geo_members_reply(c, reply_null, reply_geohash);
}

/* GEODIST key member1 member2 [unit] */
static int geodist_cmd(resp_ctx *c)
{
    double to_m = 1, s1, s2, a[2], b[2];
    store_meta m;
    int have, rc;

    if (c->argc == 5 && (to_m = arg_unit(c, &c->argv[4])) < 0)
        return 0;
    if (c->argc > 5)
        return resp_err_syntax(c->r);
    have = geo_key(c, &c->argv[1], &m);
    if (have < 0 || have == 2)
        return have < 0 ? have : 0;
    rc = have ? member_score(c, &m, &c->argv[2], &s1) : FFDB_NOTFOUND;
    if (rc == 0)
        rc = member_score(c, &m, &c->argv[3], &s2);
    if (rc == FFDB_NOTFOUND) {
        reply_null(c->r);
        return 0;
    }
    if (rc)
        return rc;
    score_point(s1, a);
    score_point(s2, b);
    reply_distance(c->r, geo_distance(a[0], a[1], b[0], b[1]) / to_m);
    return 0;
}

/* ---- GEOSEARCH and GEORADIUS -------------------------------------------------------------- */

enum {
    G_COORDS = 1,      /* GEORADIUS: around coordinates */
    G_MEMBER = 2,      /* GEORADIUSBYMEMBER */
    G_NOSTORE = 4,     /* the _RO forms */
    G_SEARCH = 8,      /* GEOSEARCH's arguments */
    G_SEARCHSTORE = 16 /* GEOSEARCHSTORE */
};

typedef struct geo_req {
    geo_shape shape;
    const resp_arg *store;
    int storedist, withdist, withhash, withcoord, any, sort; /* sort: 0, 1 asc, 2 desc */
    int64_t count;
    int from, by; /* GEOSEARCH: seen FROM..., BY... */
} geo_req;

/* The options after the fixed arguments, in Redis's order of checks: 0,
 * or 1 after an error reply, or an engine code. */
static int search_options(resp_ctx *c, int base, int flags, int have, const store_meta *m,
                          geo_req *q)
{
    for (int i = base; i < c->argc; i++) {
        const resp_arg *a = &c->argv[i];
        int left = c->argc - i - 1; /* arguments after this one */
        if (resp_arg_is(a, "withdist")) {
            q->withdist = 1;
        } else if (resp_arg_is(a, "withhash")) {
            q->withhash = 1;
        } else if (resp_arg_is(a, "withcoord")) {
            q->withcoord = 1;
        } else if (resp_arg_is(a, "any")) {
            q->any = 1;
        } else if (resp_arg_is(a, "asc")) {
            q->sort = 1;
        } else if (resp_arg_is(a, "desc")) {
            q->sort = 2;
        } else if (resp_arg_is(a, "count") && left >= 1) {
            if (resp_arg_i64(c->r, &c->argv[++i], &q->count))
                return 1;
            if (q->count <= 0) {
                reply_error(c->r, "ERR COUNT must be > 0");
                return 1;
            }
        } else if ((resp_arg_is(a, "store") || resp_arg_is(a, "storedist")) && left >= 1 &&
                   !(flags & (G_NOSTORE | G_SEARCH))) {
            q->storedist = resp_arg_is(a, "storedist");
            q->store = &c->argv[++i];
        } else if (resp_arg_is(a, "storedist") && (flags & G_SEARCHSTORE)) {
            q->storedist = 1;
        } else if (resp_arg_is(a, "frommember") && left >= 1 && (flags & G_SEARCH) &&
                   q->from != 2) {
            double score;
            int rc = have ? member_score(c, m, &c->argv[++i], &score) : (++i, 0);
            if (rc == FFDB_NOTFOUND) {
                reply_error(c->r, "ERR could not decode requested zset member");
                return 1;
            }
            if (rc)
                return rc;
            if (have)
                score_point(score, q->shape.xy);
            q->from = 1;
        } else if (resp_arg_is(a, "fromlonlat") && left >= 2 && (flags & G_SEARCH) &&
                   q->from != 1) {
            if (arg_lonlat(c, &c->argv[i + 1], q->shape.xy))
                return 1;
            q->from = 2;
            i += 2;
        } else if (resp_arg_is(a, "byradius") && left >= 2 && (flags & G_SEARCH) && q->by != 2) {
            if (arg_radius(c, &c->argv[i + 1], &q->shape))
                return 1;
            q->by = 1;
            i += 2;
        } else if (resp_arg_is(a, "bybox") && left >= 3 && (flags & G_SEARCH) && q->by != 1) {
            if (arg_box(c, &c->argv[i + 1], &q->shape))
                return 1;
            q->by = 2;
            i += 3;
        } else {
            return resp_err_syntax(c->r), 1;
        }
    }
    return 0;
}

/* The checks after the options (Redis's georadiusGeneric): 0 or 1 after an
 * error reply. */
static int search_checks(resp_ctx *c, int flags, const geo_req *q)
{
    const resp_arg *name = &c->argv[0];

    if (q->store && (q->withdist || q->withhash || q->withcoord)) {
        reply_errorf(c->r, "ERR %s is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
                     (flags & G_SEARCHSTORE) ? "GEOSEARCHSTORE" : "STORE option in GEORADIUS");
        return 1;
    }
    if ((flags & G_SEARCH) && !q->from) {
        reply_errorf(c->r, "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for %.*s",
                     (int)name->n, name->p);
        return 1;
    }
    if ((flags & G_SEARCH) && !q->by) {
        reply_errorf(c->r, "ERR exactly one of BYRADIUS and BYBOX can be specified for %.*s",
                     (int)name->n, name->p);
        return 1;
    }
    if (q->any && !q->count) {
        reply_error(c->r, "ERR the ANY argument requires COUNT argument");
        return 1;
    }
    return 0;
}

static void reply_found(resp_ctx *c, const geo_req *q, const geo_found *g, size_t n)
{
    int opts = q->withdist + q->withhash + q->withcoord;

    reply_array(c->r, n);
    for (size_t i = 0; i < n; i++) {
        const geo_point *p = &g->pt[i];
        if (opts)
            reply_array(c->r, (size_t)opts + 1);
        reply_bulk(c->r, g->pool + p->off, p->n);
        if (q->withdist)
            reply_distance(c->r, p->dist / q->shape.conversion);
        if (q->withhash)
            reply_int(c->r, (int64_t)p->score);
        if (q->withcoord) {
            reply_array(c->r, 2);
            reply_coord(c->r, p->xy[0]);
            reply_coord(c->r, p->xy[1]);
        }
    }
}

/* The first n points found into the sorted set at q->store (replacing it;
 * deleted if n is 0). */
static int store_found(resp_ctx *c, const geo_req *q, const geo_found *g, size_t n)
{
    store_meta d;
    int rc;

    rc = store_meta_create(c->st, c->db, q->store->p, q->store->n, STORE_ZSET, &d);
    for (size_t i = 0; i < n && !rc; i++) {
        const geo_point *p = &g->pt[i];
        double score = q->storedist ? p->dist / q->shape.conversion : p->score, old;
        resp_arg mem = {g->pool + p->off, p->n};
        uint8_t enc[8];
        int had = member_score(c, &d, &mem, &old); /* a box walked twice */
        if (had == 0)
            rc = store_zscore_del(c->st, &d, old, mem.p, mem.n);
        else if (had == FFDB_NOTFOUND)
            d.size++;
        else
            rc = had;
        store_score_encode(score, enc);
        if (!rc)
            rc = store_zscore_put(c->st, &d, score, mem.p, mem.n);
        if (!rc)
            rc = store_sub_put(c->st, &d, mem.p, mem.n, enc, 8);
    }
    if (!rc)
        rc = store_meta_save(c->st, &d); /* size 0: the key is deleted */
    return rc;
}

static int search_generic(resp_ctx *c, int src, int flags)
{
    geo_req q = {.shape = {.conversion = 1}};
    geo_found g = {0};
    store_meta m;
    int base, rc, have = geo_key(c, &c->argv[src], &m);
    size_t n;

    if (have < 0 || have == 2)
        return have < 0 ? have : 0;
    if (flags & G_COORDS) {
        base = 6;
        if (arg_lonlat(c, &c->argv[2], q.shape.xy) || arg_radius(c, &c->argv[4], &q.shape))
            return 0;
    } else if (flags & G_MEMBER) {
        double score;
        base = 5;
        if (have) {
            rc = member_score(c, &m, &c->argv[2], &score);
            if (rc == FFDB_NOTFOUND) {
                reply_error(c->r, "ERR could not decode requested zset member");
                return 0;
            }
            if (rc)
                return rc;
            score_point(score, q.shape.xy);
            if (arg_radius(c, &c->argv[3], &q.shape))
                return 0;
        }
    } else {
        base = (flags & G_SEARCHSTORE) ? 3 : 2;
        if (flags & G_SEARCHSTORE)
            q.store = &c->argv[1];
    }
    rc = search_options(c, base, flags, have, &m, &q);
    if (rc == 0)
        rc = search_checks(c, flags, &q);
    if (rc)
        return rc > 0 ? 0 : rc;
    if (!have) {
        if (!q.store) {
            reply_array(c->r, 0);
            return 0;
        }
        rc = store_key_delete(c->st, c->db, q.store->p, q.store->n, NULL);
        if (!rc)
            reply_int(c->r, 0);
        return rc;
    }
    if (q.count && !q.sort && !q.any)
        q.sort = 1;
    rc = search(c, &m, &q.shape, &g, q.any ? (size_t)q.count : 0);
    n = q.count && (uint64_t)q.count < g.used ? (size_t)q.count : g.used;
    if (!rc && q.sort)
        sort_by_dist(g.pt, g.used, q.sort == 2);
    if (!rc && !q.store)
        reply_found(c, &q, &g, n);
    else if (!rc && (rc = store_found(c, &q, &g, n)) == 0)
        reply_int(c->r, (int64_t)n);
    found_free(&g);
    return redis_store_error(c, rc); /* a store key too long is a reply */
}

static int georadius_cmd(resp_ctx *c)
{
    return search_generic(c, 1, G_COORDS);
}

static int georadius_ro_cmd(resp_ctx *c)
{
    return search_generic(c, 1, G_COORDS | G_NOSTORE);
}

static int georadiusbymember_cmd(resp_ctx *c)
{
    return search_generic(c, 1, G_MEMBER);
}

static int georadiusbymember_ro_cmd(resp_ctx *c)
{
    return search_generic(c, 1, G_MEMBER | G_NOSTORE);
}

static int geosearch_cmd(resp_ctx *c)
{
    return search_generic(c, 1, G_SEARCH);
}

static int geosearchstore_cmd(resp_ctx *c)
{
    return search_generic(c, 2, G_SEARCH | G_SEARCHSTORE);
}

#define W RESP_CMD_WRITE
#define R RESP_CMD_READONLY

const resp_command redis_cmds_geo[] = {
    {"geoadd", geoadd_cmd, -5, W | RESP_CMD_DENYOOM, 1, 1, 1, "geo",
     "Add one or more geospatial items in the geospatial index represented using a sorted set"},
    {"geopos", geopos_cmd, -2, R, 1, 1, 1, "geo",
     "Returns longitude and latitude of members of a geospatial index"},
    {"geohash", geohash_cmd, -2, R, 1, 1, 1, "geo",
     "Returns members of a geospatial index as standard geohash strings"},
    {"geodist", geodist_cmd, -4, R, 1, 1, 1, "geo",
     "Returns the distance between two members of a geospatial index"},
    {"georadius", georadius_cmd, -6, W | RESP_CMD_DENYOOM, 1, 1, 1, "geo",
     "Query a sorted set representing a geospatial index to fetch members matching a given "
     "maximum distance from a point"},
    {"georadius_ro", georadius_ro_cmd, -6, R, 1, 1, 1, "geo",
     "A read-only variant for GEORADIUS"},
    {"georadiusbymember", georadiusbymember_cmd, -5, W | RESP_CMD_DENYOOM, 1, 1, 1, "geo",
     "Query a sorted set representing a geospatial index to fetch members matching a given "
     "maximum distance from a member"},
    {"georadiusbymember_ro", georadiusbymember_ro_cmd, -5, R, 1, 1, 1, "geo",
     "A read-only variant for GEORADIUSBYMEMBER"},
    {"geosearch", geosearch_cmd, -7, R, 1, 1, 1, "geo",
     "Query a sorted set representing a geospatial index to fetch members inside an area of a "
     "box or a circle."},
    {"geosearchstore", geosearchstore_cmd, -8, W | RESP_CMD_DENYOOM, 1, 2, 1, "geo",
     "Query a sorted set representing a geospatial index to fetch members inside an area of a "
     "box or a circle, and store the result in another key."},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL},
};
