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

/* Seal the runs, on `threads` threads; any failure wipes the whole output. */
static int seal_runs(seal_run *runs, int nruns, int threads, unsigned char *out, size_t total)
{
    engine_pool_run(seal_run_job, runs, sizeof(runs[0]), nruns, threads);
    int rc = ENGINE_RECORDS_OK;
    for (int i = 0; i < nruns && rc == ENGINE_RECORDS_OK; i++)
        rc = runs[i].rc;
    if (rc != ENGINE_RECORDS_OK)
        OPENSSL_cleanse(out, total);
    return rc;
}

int engine_records_seal(engine_record_key *k, const unsigned char *in, size_t in_len,
                        int content_type, size_t max_fragment, size_t pad_to,
                        uint64_t seq, unsigned char *out, size_t out_cap,
                        int threads, size_t *written, uint64_t *records)
{
    if (k == NULL || !k->encrypt || written == NULL || records == NULL
        || (in == NULL && in_len > 0) || (out == NULL && out_cap > 0)
        || content_type < 1 || content_type > 255
        || max_fragment < 1 || max_fragment > MAX_FRAGMENT || overlaps(in, in_len, out, out_cap))
        return ENGINE_RECORDS_EINVAL;
    *written = 0;
    *records = 0;
    size_t full = in_len / max_fragment, rest = in_len % max_fragment;
    size_t nrec = full + (rest ? 1 : 0);
    if (nrec == 0)
        return ENGINE_RECORDS_OK;
    if (!seq_room_for(seq, nrec))
        return ENGINE_RECORDS_SEQ;
    size_t full_size = HEADER_SIZE + inner_size(max_fragment, pad_to) + TAG_SIZE;
    size_t rest_size = rest ? HEADER_SIZE + inner_size(rest, pad_to) + TAG_SIZE : 0;
    if (full > (SIZE_MAX - rest_size) / full_size)
        return ENGINE_RECORDS_SPACE;
    size_t total = full * full_size + rest_size;
    if (total > out_cap)
        return ENGINE_RECORDS_SPACE;
    if (pthread_mutex_trylock(&k->lock) != 0)
        return ENGINE_RECORDS_EBUSY;

    int t = engine_record_key_threads(k, threads, nrec, in_len);
    int nruns = engine_pool_chunks(t, nrec, total);
    seal_run one, *runs = nruns > 1 ? calloc((size_t)nruns, sizeof(seal_run)) : &one;
    if (runs == NULL) {
        runs = &one;
        nruns = t = 1;
    }
    /* equal numbers of records per run (all full-size but the very last) */
    size_t per = nrec / (size_t)nruns, extra = nrec % (size_t)nruns, first = 0;
    for (int i = 0; i < nruns; i++) {
        size_t count = per + ((size_t)i < extra ? 1 : 0);
        size_t in_start = first * max_fragment;
        size_t in_end = (first + count) * max_fragment;
        if (in_end > in_len)
            in_end = in_len;
        runs[i] = (seal_run){
            .key = k, .in = in + in_start, .in_len = in_end - in_start,
            .out = out + first * full_size, .max_fragment = max_fragment, .pad_to = pad_to,
            .content_type = content_type, .seq = seq + first, .rc = ENGINE_RECORDS_OK,
        };
        first += count;
    }
    int rc = seal_runs(runs, nruns, t, out, total);
    if (runs != &one)
        free(runs);
    pthread_mutex_unlock(&k->lock);
    if (rc != ENGINE_RECORDS_OK)
        return rc;
    *written = total;
    *records = nrec;
    return ENGINE_RECORDS_OK;
}

int engine_records_seal_messages(engine_record_key *k, const unsigned char *in, size_t in_len,
                                 const uint64_t *lengths, size_t count, int content_type,
                                 size_t pad_to, uint64_t seq,
                                 unsigned char *out, size_t out_cap, int threads,
                                 size_t *written)
{
    if (k == NULL || !k->encrypt || written == NULL || (in == NULL && in_len > 0)
        || (lengths == NULL && count > 0) || (out == NULL && out_cap > 0)
        || content_type < 1 || content_type > 255 || overlaps(in, in_len, out, out_cap))
        return ENGINE_RECORDS_EINVAL;
    *written = 0;
    if (!seq_room_for(seq, count))
        return ENGINE_RECORDS_SEQ;
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
    if (pthread_mutex_trylock(&k->lock) != 0)
        return ENGINE_RECORDS_EBUSY;

    int t = engine_record_key_threads(k, threads, count, total);
    int nruns = engine_pool_chunks(t, count, total);
    seal_run one, *runs = nruns > 1 ? calloc((size_t)nruns, sizeof(seal_run)) : &one;
    if (runs == NULL) {
        runs = &one;
        nruns = t = 1;
    }
    /* runs of about equal output size */
    size_t index = 0, in_pos = 0, out_pos = 0;
    for (int j = 0; j < nruns; j++) {
        size_t target = (total / (size_t)nruns) * (size_t)(j + 1);
        size_t first = index, in_start = in_pos, out_start = out_pos;
        while (index < count && (out_pos < target || j + 1 == nruns)) {
            in_pos += (size_t)lengths[index];
            out_pos += HEADER_SIZE + inner_size((size_t)lengths[index], pad_to) + TAG_SIZE;
            index++;
        }
        runs[j] = (seal_run){
            .key = k, .in = in + in_start, .in_len = in_pos - in_start,
            .lengths = lengths + first, .count = index - first, .out = out + out_start,
            .pad_to = pad_to, .content_type = content_type, .seq = seq + first,
            .rc = ENGINE_RECORDS_OK,
        };
    }
    int rc = seal_runs(runs, nruns, t, out, total);
    if (runs != &one)
        free(runs);
    pthread_mutex_unlock(&k->lock);
    if (rc != ENGINE_RECORDS_OK)
        return rc;
    *written = total;
    return ENGINE_RECORDS_OK;
}
