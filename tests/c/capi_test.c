/* The C API's test program, built and run by tests/capi.rs (plain, then under
 * -fsanitize=address,undefined with leak detection). Usage: capi_test SCRATCH_DIR
 * Prints one line per failed check and a summary; exits 0 only when every check passed. */
#include "xtree.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The test hook of native/capi/index.rs, deliberately not in the header. */
int32_t xtree_test_panic(const char *message);

static int checks = 0;
static int failures = 0;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        checks++;                                                                      \
        if (!(cond)) {                                                                 \
            failures++;                                                                \
            printf("FAIL %s:%d: %s (last error: %s)\n", __FILE__, __LINE__, #cond,     \
                   xtree_last_error());                                                \
        }                                                                              \
    } while (0)

/* Calls `call`, expects status `want`. */
#define EXPECT(want, call)                                                             \
    do {                                                                               \
        int32_t rc_ = (call);                                                          \
        checks++;                                                                      \
        if (rc_ != (want)) {                                                           \
            failures++;                                                                \
            printf("FAIL %s:%d: %s returned %d, expected %d (last error: %s)\n",       \
                   __FILE__, __LINE__, #call, rc_, (want), xtree_last_error());        \
        }                                                                              \
    } while (0)

#define OK(call) EXPECT(XTREE_OK, call)

static const char *LABELS2[] = {"lon", "lat"};
static const char *LABELS3[] = {"x", "y", "z"};

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int sorted_equal(uint64_t *a, uint64_t *b, size_t n) {
    qsort(a, n, sizeof a[0], cmp_u64);
    qsort(b, n, sizeof b[0], cmp_u64);
    return memcmp(a, b, n * sizeof a[0]) == 0;
}

/* Deterministic xorshift64*, so a failure reproduces. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static double rnd(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

static void test_in_memory(void) {
    XtreeIndex ix = {0};
    OK(xtree_index_new(2, 64, LABELS2, 2, 0, &ix));
    CHECK(ix.id != 0);
    CHECK(strcmp(xtree_last_error(), "") == 0);

    uint32_t dim = 0;
    OK(xtree_index_dimension(ix, &dim));
    CHECK(dim == 2);

    double paris[] = {2.3488, 48.8534};
    double bmin[] = {2.2, 48.8}, bmax[] = {2.5, 48.9};
    OK(xtree_index_insert_point(ix, 1, paris, 2));
    OK(xtree_index_insert_box(ix, 2, bmin, bmax, 2));
    uint64_t rows[] = {3, 4};
    double coords[] = {-0.1276, 51.5072, 13.405, 52.52};
    OK(xtree_index_insert_points(ix, rows, 2, coords, 4));
    uint64_t brows[] = {5, 6};
    double mins[] = {0, 0, 10, 10}, maxs[] = {1, 1, 11, 11};
    OK(xtree_index_insert_boxes(ix, brows, 2, mins, maxs, 4));

    uint64_t len = 0;
    OK(xtree_index_len(ix, &len));
    CHECK(len == 6);

    double qmin[] = {-5, 45}, qmax[] = {5, 55};
    uint64_t ids[16], total = 0;
    OK(xtree_index_search(ix, XTREE_WITHIN, qmin, qmax, 2, ids, 16, &total));
    CHECK(total == 3);
    uint64_t want[] = {1, 2, 3};
    CHECK(total == 3 && sorted_equal(ids, want, 3));

    uint64_t n = 0;
    OK(xtree_index_count(ix, XTREE_INTERSECTS, qmin, qmax, 2, &n));
    CHECK(n == 3); /* 1, 2, 3 (WITHIN and INTERSECTS agree here) */
    double cmin[] = {2.3, 48.85}, cmax[] = {2.4, 48.86};
    OK(xtree_index_count(ix, XTREE_CONTAINS, cmin, cmax, 2, &n));
    CHECK(n == 1); /* only box 2 contains it */
    double inf_min[] = {-INFINITY, -INFINITY}, inf_max[] = {INFINITY, INFINITY};
    OK(xtree_index_count(ix, XTREE_WITHIN, inf_min, inf_max, 2, &n));
    CHECK(n == 6);

    /* Buffer too small: status 1, *total = full count, retry succeeds. */
    uint64_t small[2];
    EXPECT(XTREE_ERR_INVALID_ARGUMENT,
           xtree_index_search(ix, XTREE_WITHIN, qmin, qmax, 2, small, 2, &total));
    CHECK(total == 3);
    CHECK(strstr(xtree_last_error(), "retry") != NULL);
    EXPECT(XTREE_ERR_INVALID_ARGUMENT,
           xtree_index_search(ix, XTREE_WITHIN, qmin, qmax, 2, NULL, 0, &total));
    CHECK(total == 3);
    uint64_t *big = malloc(total * sizeof *big);
    size_t cap = (size_t)total;
    OK(xtree_index_search(ix, XTREE_WITHIN, qmin, qmax, 2, big, cap, &total));
    CHECK(total == 3 && sorted_equal(big, want, 3));
    free(big);
    double emin[] = {100, 100}, emax[] = {101, 101};
    OK(xtree_index_search(ix, XTREE_INTERSECTS, emin, emax, 2, NULL, 0, &total));
    CHECK(total == 0);

    /* kNN with distances: the box 2 contains the query point. */
    double q[] = {2.35, 48.86};
    uint64_t nid[4];
    double nd[4];
    size_t found = 99;
    OK(xtree_index_nearest(ix, q, 2, 2, nid, nd, &found));
    CHECK(found == 2 && nid[0] == 2 && nid[1] == 1 && nd[0] == 0.0 && nd[1] > 0.0);
    OK(xtree_index_nearest(ix, q, 2, 2, nid, NULL, &found));
    CHECK(found == 2 && nid[0] == 2);
    OK(xtree_index_nearest(ix, q, 2, 0, NULL, NULL, &found));
    CHECK(found == 0);
    OK(xtree_index_nearest(ix, q, 2, 4, nid, nd, &found));
    CHECK(found == 4);

    /* Delete, update. */
    bool hit = false;
    OK(xtree_index_delete(ix, 1, paris, paris, 2, &hit));
    CHECK(hit);
    OK(xtree_index_delete(ix, 1, paris, paris, 2, &hit));
    CHECK(!hit);
    OK(xtree_index_delete(ix, 1, paris, paris, 2, NULL));
    double nmin[] = {2.0, 48.0}, nmax[] = {3.0, 49.0};
    OK(xtree_index_update(ix, 2, bmin, bmax, nmin, nmax, 2, &hit));
    CHECK(hit);
    OK(xtree_index_update(ix, 2, bmin, bmax, nmin, nmax, 2, &hit));
    CHECK(!hit);
    OK(xtree_index_len(ix, &len));
    CHECK(len == 5);

    uint64_t epoch = 7;
    OK(xtree_index_commit(ix, &epoch));
    CHECK(epoch == 0);

    /* Precision 32 and an explicit node size. */
    XtreeIndex ix32 = {0};
    OK(xtree_index_new(3, 32, LABELS3, 3, 512, &ix32));
    double p3[] = {0.1, 0.2, 0.3};
    OK(xtree_index_insert_point(ix32, 9, p3, 3));
    double lo3[] = {0.09, 0.19, 0.29}, hi3[] = {0.11, 0.21, 0.31};
    OK(xtree_index_count(ix32, XTREE_WITHIN, lo3, hi3, 3, &n));
    CHECK(n == 1);
    OK(xtree_index_free(ix32));

    OK(xtree_index_free(ix));
}

static void test_errors(void) {
    XtreeIndex null_ix = {0};
    XtreeIndex ix = {0};
    double p[] = {1, 2}, lo[] = {0, 0}, hi[] = {3, 3};
    uint64_t ids[4], total = 0, n = 0;
    size_t found = 0;

    /* Construction. */
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_index_new(0, 64, NULL, 0, 0, &ix));
    CHECK(ix.id == 0);
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_index_new(256, 64, NULL, 0, 0, &ix));
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_index_new(2, 16, LABELS2, 2, 0, &ix));
    CHECK(strstr(xtree_last_error(), "precision") != NULL);
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_index_new(3, 64, LABELS2, 2, 0, &ix));
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_index_new(2, 64, NULL, 2, 0, &ix));
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_index_new(2, 64, LABELS2, 2, 0, NULL));
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_index_new(2, 64, LABELS2, 2, 17, &ix));
    const char *bad_utf8[] = {"lon", "l\xff"};
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_index_new(2, 64, bad_utf8, 2, 0, &ix));
    CHECK(strstr(xtree_last_error(), "labels[1]") != NULL);
    const char *null_label[] = {"lon", NULL};
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_index_new(2, 64, null_label, 2, 0, &ix));
    const char *same[] = {"a", "a"};
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_index_new(2, 64, same, 2, 0, &ix));

    /* The null handle. */
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_index_insert_point(null_ix, 1, p, 2));
    CHECK(strstr(xtree_last_error(), "null handle") != NULL);
    EXPECT(XTREE_ERR_INVALID_ARGUMENT,
           xtree_index_search(null_ix, XTREE_INTERSECTS, lo, hi, 2, ids, 4, &total));
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_index_free(null_ix));
    XtreeCursor null_cur = {0};
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_cursor_free(null_cur));
    XtreeRuntime null_rt = {0};
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_runtime_close(null_rt));
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_runtime_commit(null_rt, NULL));

    OK(xtree_index_new(2, 64, LABELS2, 2, 0, &ix));
    OK(xtree_index_insert_point(ix, 1, p, 2));

    /* NULL buffers with a non-zero length, wrong lengths, bad values. */
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_index_insert_point(ix, 1, NULL, 2));
    CHECK(strstr(xtree_last_error(), "point is NULL") != NULL);
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_index_insert_point(ix, 1, p, 1));
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_index_insert_point(ix, 1, p, 0));
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_index_insert_box(ix, 1, hi, lo, 2)); /* min > max */
    double nan_p[] = {NAN, 0};
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_index_insert_point(ix, 1, nan_p, 2));
    double inf_p[] = {INFINITY, 0};
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_index_insert_point(ix, 1, inf_p, 2));
    uint64_t rows[] = {1, 2};
    double c4[] = {0, 0, 1, 1};
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_index_insert_points(ix, rows, 2, c4, 3));
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_index_insert_points(ix, NULL, 2, c4, 4));
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_index_insert_points(ix, rows, 2, NULL, 4));
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_index_insert_boxes(ix, rows, 2, c4, NULL, 4));
    OK(xtree_index_insert_points(ix, NULL, 0, NULL, 0)); /* an empty batch is fine */
    EXPECT(XTREE_ERR_INVALID_ARGUMENT,
           xtree_index_search(ix, XTREE_INTERSECTS, lo, hi, 2, NULL, 4, &total));
    CHECK(total == 0);
    EXPECT(XTREE_ERR_INVALID_ARGUMENT,
           xtree_index_search(ix, XTREE_INTERSECTS, lo, hi, 2, ids, 4, NULL));
    EXPECT(XTREE_ERR_INVALID_ARGUMENT,
           xtree_index_search(ix, XTREE_INTERSECTS, lo, hi, 3, ids, 4, &total));
    EXPECT(XTREE_ERR_INVALID_ARGUMENT,
           xtree_index_search(ix, XTREE_INTERSECTS, hi, lo, 2, ids, 4, &total));
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_index_search(ix, 3, lo, hi, 2, ids, 4, &total));
    CHECK(strstr(xtree_last_error(), "relation 3") != NULL);
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_index_count(ix, -1, lo, hi, 2, &n));
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_index_count(ix, XTREE_WITHIN, lo, hi, 2, NULL));
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_index_nearest(ix, p, 2, 4, NULL, NULL, &found));
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_index_nearest(ix, p, 2, 4, ids, NULL, NULL));
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_index_nearest(ix, inf_p, 2, 4, ids, NULL, &found));
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_index_dimension(ix, NULL));
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_live_handles(NULL));

    /* Cursor argument errors. */
    XtreeCursor cur = {0};
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_index_cursor(ix, 9, lo, hi, 2, &cur));
    CHECK(cur.id == 0);
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_index_cursor(ix, XTREE_WITHIN, lo, hi, 2, NULL));
    OK(xtree_index_cursor(ix, XTREE_WITHIN, lo, hi, 2, &cur));
    size_t written = 9;
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_cursor_next(cur, ids, 0, &written));
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_cursor_next(cur, NULL, 4, &written));
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_cursor_next(cur, ids, 4, NULL));
    OK(xtree_cursor_next(cur, ids, 4, &written)); /* the refused calls consumed nothing */
    CHECK(written == 1 && ids[0] == 1);

    /* A handle of the wrong kind (an id forged from another kind) is refused, not released. */
    XtreeIndex as_index = {cur.id};
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_index_insert_point(as_index, 1, p, 2));
    CHECK(strstr(xtree_last_error(), "cursor") != NULL);
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_index_free(as_index));
    XtreeCursor as_cursor = {ix.id};
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_cursor_free(as_cursor));
    XtreeRuntime as_runtime = {ix.id};
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_runtime_close(as_runtime));
    XtreeIndex forged = {0xdeadbeef00000001ull};
    EXPECT(XTREE_ERR_CLOSED, xtree_index_insert_point(forged, 1, p, 2));

    OK(xtree_cursor_next(cur, ids, 4, &written));
    CHECK(written == 0);
    OK(xtree_cursor_free(cur));
    EXPECT(XTREE_ERR_CLOSED, xtree_cursor_next(cur, ids, 4, &written));
    EXPECT(XTREE_ERR_CLOSED, xtree_cursor_free(cur)); /* double free */

    /* Use after free and double free of an index. */
    OK(xtree_index_free(ix));
    EXPECT(XTREE_ERR_CLOSED, xtree_index_insert_point(ix, 1, p, 2));
    CHECK(strstr(xtree_last_error(), "released") != NULL);
    EXPECT(XTREE_ERR_CLOSED, xtree_index_search(ix, XTREE_INTERSECTS, lo, hi, 2, ids, 4, &total));
    EXPECT(XTREE_ERR_CLOSED, xtree_index_nearest(ix, p, 2, 1, ids, NULL, &found));
    EXPECT(XTREE_ERR_CLOSED, xtree_index_cursor(ix, XTREE_WITHIN, lo, hi, 2, &cur));
    EXPECT(XTREE_ERR_CLOSED, xtree_index_free(ix));
    /* A new index may reuse the slot; the old handle still does not reach it. */
    XtreeIndex again = {0};
    OK(xtree_index_new(2, 64, LABELS2, 2, 0, &again));
    CHECK(again.id != ix.id);
    EXPECT(XTREE_ERR_CLOSED, xtree_index_insert_point(ix, 1, p, 2));
    OK(xtree_index_len(again, &n));
    CHECK(n == 0);
    OK(xtree_index_free(again));

    /* A panic inside the library is status 99 with its message; the library keeps working. */
    EXPECT(XTREE_ERR_INTERNAL, xtree_test_panic("boom from C"));
    CHECK(strstr(xtree_last_error(), "boom from C") != NULL);
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_test_panic(NULL));
    OK(xtree_live_handles(&n));
    CHECK(strcmp(xtree_last_error(), "") == 0);
}

static void test_cursor_after_free(void) {
    XtreeIndex ix = {0};
    OK(xtree_index_new(2, 64, LABELS2, 2, 0, &ix));
    enum { N = 5000 };
    uint64_t *rows = malloc(N * sizeof *rows);
    double *coords = malloc(2 * N * sizeof *coords);
    for (size_t i = 0; i < N; i++) {
        rows[i] = i;
        coords[2 * i] = rnd();
        coords[2 * i + 1] = rnd();
    }
    OK(xtree_index_insert_points(ix, rows, N, coords, 2 * N));
    double lo[] = {0.25, 0.25}, hi[] = {0.75, 0.75};
    uint64_t expect_n = 0;
    for (size_t i = 0; i < N; i++) {
        double x = coords[2 * i], y = coords[2 * i + 1];
        expect_n += x >= 0.25 && x <= 0.75 && y >= 0.25 && y <= 0.75;
    }
    uint64_t *all = malloc(N * sizeof *all), total = 0;
    OK(xtree_index_search(ix, XTREE_WITHIN, lo, hi, 2, all, N, &total));
    CHECK(total == expect_n);

    XtreeCursor cur = {0};
    OK(xtree_index_cursor(ix, XTREE_WITHIN, lo, hi, 2, &cur));
    /* Writes after the cursor opened and freeing the index do not change what it returns. */
    double centre[] = {0.5, 0.5};
    OK(xtree_index_insert_point(ix, N + 1, centre, 2));
    OK(xtree_index_free(ix));
    uint64_t *paged = malloc(N * sizeof *paged), page[97];
    size_t got = 0, written = 0;
    do {
        OK(xtree_cursor_next(cur, page, 97, &written));
        CHECK(written <= 97 && got + written <= N);
        if (got + written > N) break;
        memcpy(paged + got, page, written * sizeof page[0]);
        got += written;
    } while (written > 0);
    CHECK(got == total && sorted_equal(paged, all, got));
    OK(xtree_cursor_next(cur, page, 97, &written));
    CHECK(written == 0);
    OK(xtree_cursor_free(cur));
    free(rows);
    free(coords);
    free(all);
    free(paged);
}

/* Squared Euclidean distance from point q to the box [lo, hi]. */
static double box_dist2(const double *q, const double *lo, const double *hi, int d) {
    double s = 0;
    for (int j = 0; j < d; j++) {
        double t = q[j] < lo[j] ? lo[j] - q[j] : q[j] > hi[j] ? q[j] - hi[j] : 0;
        s += t * t;
    }
    return s;
}

struct cand {
    double d2;
    uint64_t id;
};

static int cmp_cand(const void *a, const void *b) {
    const struct cand *x = a, *y = b;
    if (x->d2 != y->d2) return x->d2 < y->d2 ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static void test_knn_exact(void) {
    enum { N = 3000, D = 3, K = 25, QUERIES = 40 };
    XtreeIndex ix = {0};
    OK(xtree_index_new(D, 64, LABELS3, D, 0, &ix));
    uint64_t *rows = malloc(N * sizeof *rows);
    double *lo = malloc(N * D * sizeof *lo), *hi = malloc(N * D * sizeof *hi);
    for (size_t i = 0; i < N; i++) {
        rows[i] = 1000 + i * 7;
        for (int j = 0; j < D; j++) {
            double c = rnd() * 100 - 50;
            lo[i * D + j] = c;
            hi[i * D + j] = i % 2 ? c + rnd() * 3 : c; /* half points, half boxes */
        }
    }
    /* Half by one batch of boxes, half one record at a time. */
    OK(xtree_index_insert_boxes(ix, rows, N / 2, lo, hi, (N / 2) * D));
    for (size_t i = N / 2; i < N; i++) {
        OK(xtree_index_insert_box(ix, rows[i], lo + i * D, hi + i * D, D));
    }
    struct cand *all = malloc(N * sizeof *all);
    int mismatches = 0;
    for (int t = 0; t < QUERIES; t++) {
        double q[D];
        for (int j = 0; j < D; j++) q[j] = rnd() * 120 - 60;
        for (size_t i = 0; i < N; i++) {
            all[i].d2 = box_dist2(q, lo + i * D, hi + i * D, D);
            all[i].id = rows[i];
        }
        qsort(all, N, sizeof all[0], cmp_cand);
        uint64_t ids[K];
        double dist[K];
        size_t found = 0;
        OK(xtree_index_nearest(ix, q, D, K, ids, dist, &found));
        CHECK(found == K);
        for (size_t r = 0; r < found && r < K; r++) {
            double want = sqrt(all[r].d2);
            if (ids[r] != all[r].id || fabs(dist[r] - want) > 1e-12 * (1 + want)) {
                if (mismatches++ < 5)
                    printf("FAIL knn query %d rank %zu: got (%llu, %.17g) want (%llu, %.17g)\n",
                           t, r, (unsigned long long)ids[r], dist[r],
                           (unsigned long long)all[r].id, want);
            }
            if (r > 0) CHECK(dist[r] >= dist[r - 1]);
        }
    }
    CHECK(mismatches == 0);
    /* k larger than the index: every record, in order. */
    uint64_t *every = malloc((N + 10) * sizeof *every);
    size_t found = 0;
    double q0[D] = {0, 0, 0};
    OK(xtree_index_nearest(ix, q0, D, N + 10, every, NULL, &found));
    CHECK(found == N);
    free(every);
    free(all);
    free(rows);
    free(lo);
    free(hi);
    OK(xtree_index_free(ix));
}

/* Threads query one index while the main thread frees it: each call returns 0 (it ran on the
 * index) or 2 (the handle was already released), never anything else, and nothing crashes or
 * leaks (the sanitizer run checks the memory side). */
struct race {
    XtreeIndex ix;
    int bad;
};

static atomic_int race_started;

static void *race_reader(void *arg) {
    struct race *r = arg;
    double lo[] = {0, 0}, hi[] = {1, 1};
    uint64_t ids[64], total;
    for (int i = 0; i < 2000; i++) {
        int32_t rc = xtree_index_search(r->ix, XTREE_INTERSECTS, lo, hi, 2, ids, 64, &total);
        if (rc == XTREE_ERR_CLOSED) break;
        if (rc != XTREE_OK || total != 50) r->bad++;
        if (i == 0) atomic_fetch_add(&race_started, 1);
    }
    return NULL;
}

static void test_free_while_in_use(void) {
    XtreeIndex ix = {0};
    OK(xtree_index_new(2, 64, LABELS2, 2, 0, &ix));
    for (uint64_t i = 0; i < 50; i++) {
        double p[] = {i / 50.0, 0.5};
        OK(xtree_index_insert_point(ix, i, p, 2));
    }
    struct race r[4]; /* one per thread: no shared counter */
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        r[i].ix = ix;
        r[i].bad = 0;
        CHECK(pthread_create(&t[i], NULL, race_reader, &r[i]) == 0);
    }
    while (atomic_load(&race_started) < 4) {
        /* every reader has run a query: the free below lands while they loop */
    }
    OK(xtree_index_free(ix));
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK(r[i].bad == 0);
    }
    EXPECT(XTREE_ERR_CLOSED, xtree_index_free(ix));
}

static void test_durable(const char *scratch) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/db", scratch);
    enum { N = 1000 };
    uint64_t *rows = malloc(N * sizeof *rows);
    double *coords = malloc(2 * N * sizeof *coords);
    for (size_t i = 0; i < N; i++) {
        rows[i] = i + 1;
        coords[2 * i] = rnd() * 360 - 180;
        coords[2 * i + 1] = rnd() * 180 - 90;
    }
    double lo[] = {-90, -45}, hi[] = {90, 45};
    uint64_t expect_n = 0;
    for (size_t i = 0; i < N; i++) {
        double x = coords[2 * i], y = coords[2 * i + 1];
        expect_n += x >= -90 && x <= 90 && y >= -45 && y <= 45;
    }

    /* Argument errors of open. */
    XtreeRuntime rt = {0};
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_runtime_open(NULL, XTREE_DURABILITY_STRICT, &rt));
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_runtime_open("/tmp/\xff\xfe", 0, &rt));
    CHECK(strstr(xtree_last_error(), "UTF-8") != NULL);
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_runtime_open(dir, 7, &rt));
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_runtime_open(dir, 0, NULL));
    CHECK(rt.id == 0);

    /* Session 1: insert, commit, cursor, close. */
    OK(xtree_runtime_open(dir, XTREE_DURABILITY_STRICT, &rt));
    XtreeRuntime second = {0};
    EXPECT(XTREE_ERR_IO, xtree_runtime_open(dir, XTREE_DURABILITY_STRICT, &second));
    CHECK(strstr(xtree_last_error(), "lock") != NULL);
    XtreeIndex geo = {0}, tfield = {0}, bad = {1};
    OK(xtree_runtime_field(rt, "geo", 2, 64, LABELS2, 2, 0, &geo));
    const char *tl[] = {"t"};
    OK(xtree_runtime_field(rt, "time", 1, 32, tl, 1, 0, &tfield));
    OK(xtree_index_free(tfield));
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_runtime_field(rt, "geo", 3, 64, LABELS3, 3, 0, &bad));
    CHECK(bad.id == 0); /* set to null on failure */
    CHECK(strstr(xtree_last_error(), "exists with dimension 2") != NULL);
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_runtime_field(rt, NULL, 2, 64, LABELS2, 2, 0, &bad));
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_runtime_field(rt, "\xc3", 1, 32, tl, 1, 0, &bad));
    OK(xtree_runtime_get_field(rt, "time", &tfield));
    CHECK(tfield.id != 0);

    OK(xtree_index_insert_points(geo, rows, N, coords, 2 * N));
    double t0[] = {1.7e9}, t1[] = {1.7e9 + 3600};
    OK(xtree_index_insert_box(tfield, 7, t0, t1, 1));
    uint64_t len = 99;
    OK(xtree_index_len(geo, &len));
    CHECK(len == 0); /* not committed yet */
    uint64_t epoch1 = 0, epoch2 = 0;
    OK(xtree_runtime_commit(rt, &epoch1));
    CHECK(epoch1 > 0);
    OK(xtree_index_len(geo, &len));
    CHECK(len == N);
    OK(xtree_index_len(tfield, &len));
    CHECK(len == 1);
    double extra[] = {0, 0};
    OK(xtree_index_insert_point(geo, 5000, extra, 2));
    OK(xtree_index_commit(geo, &epoch2)); /* commits the whole runtime */
    CHECK(epoch2 > epoch1);

    uint64_t total = 0;
    uint64_t *ids = malloc((N + 1) * sizeof *ids);
    OK(xtree_index_search(geo, XTREE_WITHIN, lo, hi, 2, ids, N + 1, &total));
    CHECK(total == expect_n + 1);

    XtreeCursor cur = {0};
    OK(xtree_index_cursor(geo, XTREE_WITHIN, lo, hi, 2, &cur));
    OK(xtree_index_insert_point(geo, 6000, extra, 2)); /* never committed: gone after close */
    OK(xtree_runtime_close(rt));
    EXPECT(XTREE_ERR_CLOSED, xtree_runtime_close(rt)); /* double close */
    EXPECT(XTREE_ERR_CLOSED, xtree_runtime_commit(rt, NULL));
    /* Field handles outlive their runtime as errors. */
    EXPECT(XTREE_ERR_CLOSED, xtree_index_insert_point(geo, 1, extra, 2));
    EXPECT(XTREE_ERR_CLOSED, xtree_index_len(geo, &len));
    uint64_t no_total = 5;
    EXPECT(XTREE_ERR_CLOSED, xtree_index_search(geo, XTREE_WITHIN, lo, hi, 2, ids, N, &no_total));
    CHECK(no_total == 0);
    EXPECT(XTREE_ERR_CLOSED, xtree_index_commit(geo, NULL));
    /* The cursor keeps answering from its snapshot. */
    size_t got = 0, written = 0;
    uint64_t page[64];
    do {
        OK(xtree_cursor_next(cur, page, 64, &written));
        got += written;
    } while (written > 0 && got <= N + 1);
    CHECK(got == expect_n + 1);
    OK(xtree_cursor_free(cur));
    OK(xtree_index_free(geo));
    OK(xtree_index_free(tfield));
    EXPECT(XTREE_ERR_CLOSED, xtree_index_free(geo));

    /* Session 2: reopen, the committed data is intact, the uncommitted row is gone. */
    OK(xtree_runtime_open(dir, XTREE_DURABILITY_BALANCED, &rt));
    XtreeIndex missing = {0};
    OK(xtree_runtime_get_field(rt, "nope", &missing));
    CHECK(missing.id == 0);
    OK(xtree_runtime_get_field(rt, "geo", &geo));
    CHECK(geo.id != 0);
    OK(xtree_index_len(geo, &len));
    CHECK(len == N + 1);
    uint64_t *ids2 = malloc((N + 1) * sizeof *ids2);
    uint64_t total2 = 0;
    OK(xtree_index_search(geo, XTREE_WITHIN, lo, hi, 2, ids2, N + 1, &total2));
    CHECK(total2 == total && sorted_equal(ids, ids2, total));
    uint64_t n = 0;
    double origin[] = {0, 0};
    OK(xtree_index_count(geo, XTREE_INTERSECTS, origin, origin, 2, &n));
    CHECK(n == 1); /* row 5000 only; 6000 was never committed */
    uint64_t near[3];
    double dist[3];
    size_t found = 0;
    OK(xtree_index_nearest(geo, origin, 2, 3, near, dist, &found));
    CHECK(found == 3 && near[0] == 5000 && dist[0] == 0.0);
    OK(xtree_runtime_field(rt, "time", 1, 32, tl, 1, 0, &tfield));
    OK(xtree_index_count(tfield, XTREE_CONTAINS, t0, t0, 1, &n));
    CHECK(n == 1);
    bool hit = false;
    OK(xtree_index_delete(geo, 5000, origin, origin, 2, &hit));
    CHECK(hit);
    OK(xtree_runtime_commit(rt, NULL));
    OK(xtree_index_len(geo, &len));
    CHECK(len == N);
    OK(xtree_index_free(geo)); /* fields may be freed before the runtime too */
    OK(xtree_index_free(tfield));
    OK(xtree_runtime_close(rt));

    /* Session 3: two read-only runtimes at once; a writer is refused while they hold the
       directory, and every write returns XTREE_ERR_READ_ONLY. */
    XtreeRuntime ro1 = {0}, ro2 = {0};
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_runtime_open_read_only(NULL, &ro1));
    EXPECT(XTREE_ERR_INVALID_ARGUMENT, xtree_runtime_open_read_only(dir, NULL));
    char absent[4096];
    snprintf(absent, sizeof absent, "%s/absent", scratch);
    EXPECT(XTREE_ERR_IO, xtree_runtime_open_read_only(absent, &ro1));
    CHECK(ro1.id == 0);
    OK(xtree_runtime_open_read_only(dir, &ro1));
    OK(xtree_runtime_open_read_only(dir, &ro2));
    EXPECT(XTREE_ERR_IO, xtree_runtime_open(dir, XTREE_DURABILITY_STRICT, &rt));
    XtreeIndex rog = {0};
    OK(xtree_runtime_get_field(ro2, "geo", &rog));
    OK(xtree_index_len(rog, &len));
    CHECK(len == N);
    EXPECT(XTREE_ERR_READ_ONLY, xtree_index_insert_point(rog, 1, origin, 2));
    EXPECT(XTREE_ERR_READ_ONLY, xtree_index_delete(rog, 1, origin, origin, 2, &hit));
    EXPECT(XTREE_ERR_READ_ONLY, xtree_index_commit(rog, NULL));
    EXPECT(XTREE_ERR_READ_ONLY, xtree_runtime_commit(ro1, NULL));
    EXPECT(XTREE_ERR_READ_ONLY, xtree_runtime_field(ro1, "new", 1, 32, tl, 1, 0, &tfield));
    OK(xtree_index_len(rog, &len));
    CHECK(len == N);
    OK(xtree_index_free(rog));
    OK(xtree_runtime_close(ro1));
    OK(xtree_runtime_close(ro2));

    /* A regular file as the data directory is an I/O error. */
    char file[4096];
    snprintf(file, sizeof file, "%s/plain-file", scratch);
    FILE *f = fopen(file, "w");
    CHECK(f != NULL);
    if (f) fclose(f);
    EXPECT(XTREE_ERR_IO, xtree_runtime_open(file, XTREE_DURABILITY_EVENTUAL, &rt));
    CHECK(rt.id == 0);

    free(ids);
    free(ids2);
    free(rows);
    free(coords);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s SCRATCH_DIR\n", argv[0]);
        return 2;
    }
    test_in_memory();
    test_errors();
    test_cursor_after_free();
    test_knn_exact();
    test_durable(argv[1]);
    test_free_while_in_use();
    uint64_t live = 99;
    OK(xtree_live_handles(&live));
    CHECK(live == 0);
    printf("capi_test: %d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
