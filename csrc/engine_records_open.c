/* Opening many records per call (RFC 8446 section 5.2): every complete application_data record
 * at the front of the input, plaintexts one after another. On one thread each header is read as
 * its record comes; on several, the headers are scanned first and runs of records of about equal
 * wire size are opened on the worker pool, then moved together. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "engine_pool_internal.h"
#include "engine_records_internal.h"

/* The content length of an inner plaintext (the bytes before its last non-zero byte), or -1 if
 * it is all zeros. */
static inline long content_length(const unsigned char *inner, size_t plen)
{
    size_t i = plen;
    while (i > 0 && inner[i - 1] == 0)
        i--;
    return (long)i - 1;
}

/* Why a header stops a scan: 0 go on, 1 stop before it (incomplete, other type), 2 overflow. */
static inline int header_verdict(const unsigned char *rec, size_t left)
{
    if (left < HEADER_SIZE || rec[0] != APPLICATION_DATA)
        return 1;
    size_t length = header_length(rec);
    if (length > MAX_CIPHERTEXT || length > MAX_INNER + TAG_SIZE)
        return 2;
    if (left - HEADER_SIZE < length)
        return 1;
    return 0;
}

typedef struct open_run {
    engine_record_key *key;
    const unsigned char *in;      /* first record of the run */
    size_t nrec;                  /* complete records in the run */
    size_t limit;                 /* bytes of `out` this run may write (the next run's start) */
    unsigned char *out;           /* where the run's first plaintext goes */
    size_t out_base;              /* offset of `out` in the whole output buffer */
    uint64_t *segments;           /* the run's first triple */
    uint64_t seq;
    /* results */
    size_t done;                  /* records opened */
    size_t consumed;              /* wire bytes they took */
    size_t content;               /* plaintext bytes they gave */
    size_t extent;                /* bytes of `out` written, counted from `out` */
    int rc;                       /* why the run stopped early, or OK */
    int stopped;                  /* 1 if a record with inner type != 23 ended the run */
} open_run;

/* Open a run's records one after another. A record whose whole inner plaintext would pass the
 * run's limit is opened into the slot's scratch space and only its content copied. */
static void open_run_job(void *p, int slot)
{
    open_run *r = p;
    EVP_CIPHER_CTX *ctx = r->key->ctx[slot];
    unsigned char *scratch = r->key->scratch[slot];
    const unsigned char *iv = r->key->iv;
    const unsigned char *rec = r->in;
    size_t off = 0;
    r->done = r->consumed = r->content = r->extent = 0;
    r->rc = ENGINE_RECORDS_OK;
    r->stopped = 0;
    for (size_t i = 0; i < r->nrec; i++) {
        size_t length = header_length(rec);
        size_t plen = length >= TAG_SIZE ? length - TAG_SIZE : 0;
        int via_scratch = plen > r->limit - off;
        unsigned char *target = via_scratch ? scratch : r->out + off;
        int rc = engine_record_open_one(ctx, iv, r->seq + i, rec, length, target);
        if (!via_scratch && off + plen > r->extent)
            r->extent = off + plen;
        if (rc != ENGINE_RECORDS_OK) {
            r->rc = rc;
            return;
        }
        long clen = content_length(target, plen);
        if (clen < 0) {
            r->rc = ENGINE_RECORDS_UNEXPECTED;
            return;
        }
        unsigned char type = target[clen];
        if (via_scratch) {
            memcpy(r->out + off, target, (size_t)clen);
            OPENSSL_cleanse(target, plen);
            if (off + (size_t)clen > r->extent)
                r->extent = off + (size_t)clen;
        }
        r->segments[3 * i] = type;
        r->segments[3 * i + 1] = r->out_base + off;
        r->segments[3 * i + 2] = (uint64_t)clen;
        off += (size_t)clen;
        r->content = off;
        r->done = i + 1;
        r->consumed += HEADER_SIZE + length;
        rec += HEADER_SIZE + length;
        if (type != APPLICATION_DATA) {
            r->stopped = 1;
            return;
        }
    }
}

/* Open records one after another, reading each header as it comes: each plaintext goes right
 * after the previous one's content. */
static int open_serial(engine_record_key *k, const unsigned char *in, size_t in_len,
                       unsigned char *out, size_t out_cap, uint64_t *segments,
                       size_t max_segments, size_t *records, size_t *consumed)
{
    uint64_t seq = k->seq;
    size_t pos = 0, off = 0, i = 0;
    int rc = ENGINE_RECORDS_OK;
    for (;; i++) {
        int verdict = header_verdict(in + pos, in_len - pos);
        if (verdict != 0) {
            rc = verdict == 2 ? ENGINE_RECORDS_OVERFLOW : ENGINE_RECORDS_OK;
            break;
        }
        if (i == max_segments)
            break;
        if (!key_room_for(k, i + 1)) {
            rc = ENGINE_RECORDS_SEQ;
            break;
        }
        const unsigned char *rec = in + pos;
        size_t length = header_length(rec);
        size_t plen = length >= TAG_SIZE ? length - TAG_SIZE : 0;
        if (plen > out_cap - off) {
            rc = i == 0 ? ENGINE_RECORDS_SPACE : ENGINE_RECORDS_OK;
            break;
        }
        rc = engine_record_open_one(k->ctx[0], k->iv, seq + i, rec, length, out + off);
        if (rc != ENGINE_RECORDS_OK)
            break;
        long clen = content_length(out + off, plen);
        if (clen < 0) {
            rc = ENGINE_RECORDS_UNEXPECTED;
            break;
        }
        unsigned char type = out[off + (size_t)clen];
        segments[3 * i] = type;
        segments[3 * i + 1] = off;
        segments[3 * i + 2] = (uint64_t)clen;
        off += (size_t)clen;
        pos += HEADER_SIZE + length;
        if (type != APPLICATION_DATA) {
            i++;
            break;
        }
    }
    *records = i;
    *consumed = pos;
    return rc;
}

int engine_records_open(engine_record_key *k, const unsigned char *in, size_t in_len,
                        unsigned char *out, size_t out_cap,
                        int threads, uint64_t *segments, size_t max_segments,
                        size_t *records, size_t *consumed)
{
    if (k == NULL || k->encrypt || records == NULL || consumed == NULL
        || (in == NULL && in_len > 0) || (out == NULL && out_cap > 0)
        || (segments == NULL && max_segments > 0) || max_segments > SIZE_MAX / 3
        || overlaps(in, in_len, out, out_cap))
        return ENGINE_RECORDS_EINVAL;
    *records = 0;
    *consumed = 0;
    int rc = ENGINE_RECORDS_OK;
    if (threads < 2 || in_len < PARALLEL_MIN_BYTES) {
        if (pthread_mutex_trylock(&k->lock) != 0)
            return ENGINE_RECORDS_EBUSY;
        rc = open_serial(k, in, in_len, out, out_cap, segments, max_segments, records,
                         consumed);
        key_advance(k, *records);
        pthread_mutex_unlock(&k->lock);
        return rc;
    }

    /* Scan the headers: which complete records to open, and why the scan ends. The plaintext
     * of record i needs its whole inner plaintext (length - 16 bytes) at its offset. */
    if (pthread_mutex_trylock(&k->lock) != 0)
        return ENGINE_RECORDS_EBUSY;
    uint64_t seq = k->seq;
    size_t pos = 0, nrec = 0, bound = 0;
    int stop_rc = ENGINE_RECORDS_OK;
    for (;;) {
        int verdict = header_verdict(in + pos, in_len - pos);
        if (verdict == 2)
            stop_rc = ENGINE_RECORDS_OVERFLOW;
        if (verdict != 0 || nrec == max_segments)
            break;
        if (!key_room_for(k, nrec + 1)) {
            stop_rc = ENGINE_RECORDS_SEQ;
            break;
        }
        size_t length = header_length(in + pos);
        bound += length >= TAG_SIZE ? length - TAG_SIZE : 0;
        pos += HEADER_SIZE + length;
        nrec++;
    }
    if (nrec == 0) {
        pthread_mutex_unlock(&k->lock);
        return stop_rc;
    }
    /* Several threads only when every plaintext fits at its worst-case offset. */
    int t = bound <= out_cap ? engine_record_key_threads(k, threads, nrec, pos) : 1;
    size_t done = 0, used = 0, content = 0;

    if (t == 1) {
        rc = open_serial(k, in, in_len, out, out_cap, segments, max_segments, &done, &used);
    } else {
        /* Runs of about equal wire bytes. Run j's plaintexts start where they would if no
         * record before it were padded (the sum of length - 17 over those records), and the
         * run writes nothing past the next run's start. Afterwards runs are moved down where
         * padding made that guess too large. The last run has room for everything since
         * out_cap covers the sum of length - 16. */
        int nruns = engine_pool_chunks(t, nrec, pos);
        open_run *runs = calloc((size_t)nruns, sizeof(open_run));
        if (runs == NULL) {
            pthread_mutex_unlock(&k->lock);
            return ENGINE_RECORDS_ENOMEM;
        }
        const unsigned char *rec = in;
        size_t index = 0, assumed = 0, wire = 0;
        for (int j = 0; j < nruns; j++) {
            size_t target = (pos / (size_t)nruns) * (size_t)(j + 1);
            size_t start = index, base = assumed;
            open_run *r = &runs[j];
            r->key = k;
            r->in = rec;
            r->out = out + assumed;
            r->out_base = assumed;
            r->segments = segments + 3 * index;
            r->seq = seq + index;
            while (index < nrec && (index == start || j + 1 == nruns || wire < target)) {
                size_t length = header_length(rec);
                size_t plen = length >= TAG_SIZE ? length - TAG_SIZE : 0;
                assumed += plen > 0 ? plen - 1 : 0;
                wire += HEADER_SIZE + length;
                rec += HEADER_SIZE + length;
                index++;
            }
            r->nrec = index - start;
            r->limit = j + 1 < nruns ? assumed - base : SIZE_MAX;
        }
        engine_pool_run(open_run_job, runs, sizeof(runs[0]), nruns, t);

        size_t written_end = 0;
        for (int j = 0; j < nruns; j++) {
            size_t end = runs[j].out_base + runs[j].extent;
            if (end > written_end)
                written_end = end;
        }
        int j = 0;
        for (; j < nruns; j++) {
            open_run *r = &runs[j];
            if (r->out_base != content) {
                if (r->content > 0)
                    memmove(out + content, out + r->out_base, r->content);
                for (size_t i = 0; i < r->done; i++)
                    r->segments[3 * i + 1] -= (uint64_t)(r->out_base - content);
            }
            content += r->content;
            done += r->done;
            used += r->consumed;
            if (r->rc != ENGINE_RECORDS_OK || r->stopped || r->done < r->nrec) {
                rc = r->rc;
                break;
            }
        }
        if (j == nruns)
            rc = stop_rc;
        /* Nothing past the last plaintext released is left behind. */
        if (written_end > content)
            OPENSSL_cleanse(out + content, written_end - content);
        free(runs);
    }
    key_advance(k, done);
    pthread_mutex_unlock(&k->lock);
    *records = done;
    *consumed = used;
    return rc;
}
