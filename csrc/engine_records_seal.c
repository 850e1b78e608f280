/* Sealing many records per call (RFC 8446 section 5.2): one buffer cut into fragments, or one
 * record per message. Runs of records may be spread over the worker pool; each thread seals
 * with its own copy of the key's context. All sizes are checked before anything is written, and
 * a failure wipes the whole output. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "engine_pool_internal.h"
#include "engine_records_internal.h"

typedef struct seal_run {
    engine_record_key *key;
    const unsigned char *in;
    size_t in_len;
    const uint64_t *lengths; /* one record per length when not NULL, else max_fragment cuts */
    size_t count;
    unsigned char *out;
    size_t max_fragment, pad_to;
    int content_type;
    uint64_t seq;
    int rc;
} seal_run;

static void seal_run_job(void *p, int slot)
{
    seal_run *r = p;
    EVP_CIPHER_CTX *ctx = r->key->ctx[slot];
    const unsigned char *iv = r->key->iv;
    const unsigned char *in = r->in;
    size_t left = r->in_len;
    unsigned char *out = r->out;
    uint64_t seq = r->seq;
    int rc = ENGINE_RECORDS_OK;
    if (r->lengths != NULL) {
        for (size_t i = 0; i < r->count && rc == ENGINE_RECORDS_OK; i++) {
            size_t clen = (size_t)r->lengths[i];
            size_t inner = inner_size(clen, r->pad_to);
            rc = engine_record_seal_one(ctx, iv, seq + i, in, clen, r->content_type, inner, out);
            in += clen;
            out += HEADER_SIZE + inner + TAG_SIZE;
        }
    } else {
        while (left > 0 && rc == ENGINE_RECORDS_OK) {
            size_t clen = left < r->max_fragment ? left : r->max_fragment;
            size_t inner = inner_size(clen, r->pad_to);
            rc = engine_record_seal_one(ctx, iv, seq, in, clen, r->content_type, inner, out);
            in += clen;
            left -= clen;
            out += HEADER_SIZE + inner + TAG_SIZE;
            seq++;
        }
    }
    r->rc = rc;
}

/* One call's records, checked: `records` records making `total` bytes at `out`. */
typedef struct seal_batch {
    engine_record_key *key;
    const unsigned char *in;
    size_t in_len;
    const uint64_t *lengths; /* one record per length when not NULL, else max_fragment cuts */
    size_t records;
    size_t max_fragment, pad_to;
    int content_type;
    uint64_t seq;
    unsigned char *out;
    size_t total;
    size_t full_size; /* bytes of a record of max_fragment content (fragment cuts only) */
} seal_batch;

/* Fragment cuts: equal numbers of records per run (all full-size but the very last). */
static void cut_fragments(const seal_batch *b, seal_run *runs, int nruns)
{
    size_t per = b->records / (size_t)nruns, extra = b->records % (size_t)nruns, first = 0;
    for (int i = 0; i < nruns; i++) {
        size_t count = per + ((size_t)i < extra ? 1 : 0);
        size_t in_start = first * b->max_fragment;
        size_t in_end = (first + count) * b->max_fragment;
        if (in_end > b->in_len)
            in_end = b->in_len;
        runs[i] = (seal_run){
            .key = b->key, .in = b->in + in_start, .in_len = in_end - in_start,
            .out = b->out + first * b->full_size, .max_fragment = b->max_fragment,
            .pad_to = b->pad_to, .content_type = b->content_type, .seq = b->seq + first,
            .rc = ENGINE_RECORDS_OK,
        };
        first += count;
    }
}

/* One record per message: runs of about equal output size. */
static void cut_messages(const seal_batch *b, seal_run *runs, int nruns)
{
    size_t index = 0, in_pos = 0, out_pos = 0;
    for (int j = 0; j < nruns; j++) {
        size_t target = (b->total / (size_t)nruns) * (size_t)(j + 1);
        size_t first = index, in_start = in_pos, out_start = out_pos;
        while (index < b->records && (out_pos < target || j + 1 == nruns)) {
            in_pos += (size_t)b->lengths[index];
            out_pos += HEADER_SIZE + inner_size((size_t)b->lengths[index], b->pad_to) + TAG_SIZE;
            index++;
        }
        runs[j] = (seal_run){
            .key = b->key, .in = b->in + in_start, .in_len = in_pos - in_start,
            .lengths = b->lengths + first, .count = index - first, .out = b->out + out_start,
            .pad_to = b->pad_to, .content_type = b->content_type, .seq = b->seq + first,
            .rc = ENGINE_RECORDS_OK,
        };
    }
}

/* Seal a batch in runs on up to `threads` threads; any failure wipes the whole output. */
static int seal_batch_run(seal_batch *b, int threads)
{
    engine_record_key *k = b->key;
    if (pthread_mutex_trylock(&k->lock) != 0)
        return ENGINE_RECORDS_EBUSY;
    if (!key_room_for(k, b->records)) {
        pthread_mutex_unlock(&k->lock);
        return ENGINE_RECORDS_SEQ;
    }
    b->seq = k->seq;
    int t = engine_record_key_threads(k, threads, b->records, b->total);
    int nruns = engine_pool_chunks(t, b->records, b->total);
    seal_run one, *runs = nruns > 1 ? calloc((size_t)nruns, sizeof(seal_run)) : &one;
    if (runs == NULL) {
        runs = &one;
        nruns = t = 1;
    }
    if (b->lengths != NULL)
        cut_messages(b, runs, nruns);
    else
        cut_fragments(b, runs, nruns);
    engine_pool_run(seal_run_job, runs, sizeof(runs[0]), nruns, t);
    int rc = ENGINE_RECORDS_OK;
    for (int i = 0; i < nruns && rc == ENGINE_RECORDS_OK; i++)
        rc = runs[i].rc;
    if (rc != ENGINE_RECORDS_OK)
        OPENSSL_cleanse(b->out, b->total);
    else
        key_advance(k, b->records);
    if (runs != &one)
        free(runs);
    pthread_mutex_unlock(&k->lock);
    return rc;
}

int engine_records_seal(engine_record_key *k, const unsigned char *in, size_t in_len,
                        int content_type, size_t max_fragment, size_t pad_to,
                        unsigned char *out, size_t out_cap,
                        int threads, size_t *written, uint64_t *records)
{
    if (k == NULL || !k->encrypt || written == NULL || records == NULL
        || (in == NULL && in_len > 0) || (out == NULL && out_cap > 0)
        || content_type < 1 || content_type > 255
        || max_fragment < 1 || max_fragment > MAX_FRAGMENT || overlaps(in, in_len, out, out_cap))
        return ENGINE_RECORDS_EINVAL;
    *written = 0;
    *records = 0;
    size_t nrec = 0, total = 0;
    if (sealed_layout(in_len, max_fragment, pad_to, &nrec, &total) != ENGINE_RECORDS_OK)
        return ENGINE_RECORDS_SPACE;
    if (nrec == 0)
        return ENGINE_RECORDS_OK;
    if (total > out_cap)
        return ENGINE_RECORDS_SPACE;
    size_t full_size = HEADER_SIZE + inner_size(max_fragment, pad_to) + TAG_SIZE;
    seal_batch batch = {
        .key = k, .in = in, .in_len = in_len, .records = nrec, .max_fragment = max_fragment,
        .pad_to = pad_to, .content_type = content_type, .out = out, .total = total,
        .full_size = full_size,
    };
    int rc = seal_batch_run(&batch, threads);
    if (rc != ENGINE_RECORDS_OK)
        return rc;
    *written = total;
    *records = nrec;
    return ENGINE_RECORDS_OK;
}

int engine_records_seal_messages(engine_record_key *k, const unsigned char *in, size_t in_len,
                                 const uint64_t *lengths, size_t count, int content_type,
                                 size_t pad_to, unsigned char *out, size_t out_cap, int threads,
                                 size_t *written)
{
    if (k == NULL || !k->encrypt || written == NULL || (in == NULL && in_len > 0)
        || (lengths == NULL && count > 0) || (out == NULL && out_cap > 0)
        || content_type < 1 || content_type > 255 || overlaps(in, in_len, out, out_cap))
        return ENGINE_RECORDS_EINVAL;
    *written = 0;
    /* check every length, their sum and the output size before writing anything */
    size_t sum = 0, total = 0;
    for (size_t i = 0; i < count; i++) {
        size_t size = HEADER_SIZE + inner_size((size_t)lengths[i], pad_to) + TAG_SIZE;
        if (lengths[i] > MAX_FRAGMENT || lengths[i] > in_len - sum || size > SIZE_MAX - total)
            return ENGINE_RECORDS_EINVAL;
        sum += (size_t)lengths[i];
        total += size;
    }
    if (sum != in_len)
        return ENGINE_RECORDS_EINVAL;
    if (total > out_cap) {
        *written = total;
        return ENGINE_RECORDS_SPACE;
    }
    if (count == 0)
        return ENGINE_RECORDS_OK;
    seal_batch batch = {
        .key = k, .in = in, .in_len = in_len, .lengths = lengths, .records = count,
        .pad_to = pad_to, .content_type = content_type, .out = out, .total = total,
    };
    int rc = seal_batch_run(&batch, threads);
    if (rc != ENGINE_RECORDS_OK)
        return rc;
    *written = total;
    return ENGINE_RECORDS_OK;
}
