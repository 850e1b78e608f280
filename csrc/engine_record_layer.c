/* The record layer of one connection (RFC 8446 section 5; see engine_records.h).
 *
 * It keeps the write and read key objects, the sealed records waiting to be sent and the
 * received bytes not yet read, and protects and opens through the same key objects and batch
 * calls (engine_records_seal, engine_records_open) as the standalone Sealer and Opener.
 *
 * Reading takes the bytes straight from the caller while nothing is kept from before, so a
 * call that brings whole records copies nothing in; only the tail of an incomplete record (or
 * what follows a record handed over) is kept. Plaintexts go to the caller's buffer. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "engine_records_internal.h"

#define READ_SEGMENTS 64   /* records opened per engine_records_open call of a read */
#define KEEP_CAPACITY 4096 /* an emptied buffer larger than this is given back */
#define MAX_PLAINTEXT_RECORD MAX_FRAGMENT

typedef struct byte_buffer {
    unsigned char *data;
    size_t start, len, cap; /* the bytes held are data[start .. start + len) */
} byte_buffer;

struct engine_record_layer {
    pthread_mutex_t lock;
    engine_record_key *write_key, *read_key; /* NULL: records are plaintext */
    uint64_t update_after;                   /* write-key records before UPDATE (0: never) */
    size_t max_fragment, pad_to;
    byte_buffer out; /* sealed records waiting to be taken */
    byte_buffer in;  /* received bytes not yet read */
    engine_record_layer_sizes sizes;
};

/* Room for `extra` more bytes at the end of `b`, moving or growing it. */
static int buffer_reserve(byte_buffer *b, size_t extra)
{
    if (extra <= b->cap - b->start - b->len)
        return ENGINE_RECORDS_OK;
    if (b->len > SIZE_MAX - extra)
        return ENGINE_RECORDS_ENOMEM;
    size_t need = b->len + extra;
    if (need <= b->cap && b->len <= b->cap / 2) { /* enough room once moved to the front */
        memmove(b->data, b->data + b->start, b->len);
        b->start = 0;
        return ENGINE_RECORDS_OK;
    }
    size_t cap = b->cap > 256 ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    unsigned char *data = malloc(cap);
    if (data == NULL)
        return ENGINE_RECORDS_ENOMEM;
    if (b->len > 0)
        memcpy(data, b->data + b->start, b->len);
    free(b->data);
    b->data = data;
    b->start = 0;
    b->cap = cap;
    return ENGINE_RECORDS_OK;
}

static int buffer_append(byte_buffer *b, const unsigned char *data, size_t len)
{
    if (len == 0)
        return ENGINE_RECORDS_OK;
    int rc = buffer_reserve(b, len);
    if (rc == ENGINE_RECORDS_OK) {
        memcpy(b->data + b->start + b->len, data, len);
        b->len += len;
    }
    return rc;
}

/* Drop the first `n` bytes; an emptied buffer is rewound, and given back if large. */
static void buffer_consume(byte_buffer *b, size_t n)
{
    b->start += n;
    b->len -= n;
    if (b->len == 0) {
        b->start = 0;
        if (b->cap > KEEP_CAPACITY) {
            free(b->data);
            b->data = NULL;
            b->cap = 0;
        }
    }
}

engine_record_layer *engine_record_layer_new(void)
{
    engine_record_layer *layer = calloc(1, sizeof(*layer));
    if (layer == NULL)
        return NULL;
    if (pthread_mutex_init(&layer->lock, NULL) != 0) {
        free(layer);
        return NULL;
    }
    layer->max_fragment = MAX_FRAGMENT;
    return layer;
}

void engine_record_layer_free(engine_record_layer *layer)
{
    if (layer == NULL)
        return;
    engine_record_key_free(layer->write_key);
    engine_record_key_free(layer->read_key);
    free(layer->out.data);
    free(layer->in.data);
    pthread_mutex_destroy(&layer->lock);
    free(layer);
}

const engine_record_layer_sizes *engine_record_layer_sizes_of(engine_record_layer *layer)
{
    return layer == NULL ? NULL : &layer->sizes;
}

int engine_record_layer_set_key(engine_record_layer *layer, int write, int suite,
                                const unsigned char *key, size_t key_len,
                                const unsigned char *iv, size_t iv_len, uint64_t update_after)
{
    if (layer == NULL)
        return ENGINE_RECORDS_EINVAL;
    engine_record_key *k = engine_record_key_new(suite, ENGINE_RECORD_TLS13, key, key_len, iv,
                                                 iv_len, write ? 1 : 0, 0, 0);
    if (k == NULL)
        return ENGINE_RECORDS_EINVAL;
    if (pthread_mutex_trylock(&layer->lock) != 0) {
        engine_record_key_free(k);
        return ENGINE_RECORDS_EBUSY;
    }
    engine_record_key **slot = write ? &layer->write_key : &layer->read_key;
    engine_record_key *old = *slot;
    *slot = k;
    if (write)
        layer->update_after = update_after;
    pthread_mutex_unlock(&layer->lock);
    engine_record_key_free(old);
    return ENGINE_RECORDS_OK;
}

int engine_record_layer_set_limits(engine_record_layer *layer, size_t max_fragment,
                                   size_t pad_to)
{
    if (layer == NULL || max_fragment < 1 || max_fragment > MAX_FRAGMENT)
        return ENGINE_RECORDS_EINVAL;
    if (pthread_mutex_trylock(&layer->lock) != 0)
        return ENGINE_RECORDS_EBUSY;
    layer->max_fragment = max_fragment;
    layer->pad_to = pad_to < MAX_INNER ? pad_to : MAX_INNER;
    pthread_mutex_unlock(&layer->lock);
    return ENGINE_RECORDS_OK;
}

/* TLSPlaintext records of `data` appended to the bytes to send (section 5.1); called with the
 * layer's lock held. */
static int append_plaintext(engine_record_layer *layer, int content_type,
                            const unsigned char *data, size_t len, int version)
{
    size_t records = len / MAX_PLAINTEXT_RECORD + (len % MAX_PLAINTEXT_RECORD ? 1 : 0);
    if (records == 0)
        records = 1; /* an empty record: only ever asked for by tests of the peer */
    if (records > (SIZE_MAX - len) / HEADER_SIZE)
        return ENGINE_RECORDS_ENOMEM;
    int rc = buffer_reserve(&layer->out, len + records * HEADER_SIZE);
    if (rc != ENGINE_RECORDS_OK)
        return rc;
    unsigned char *p = layer->out.data + layer->out.start + layer->out.len;
    size_t done = 0;
    for (size_t i = 0; i < records; i++) {
        size_t chunk = len - done < MAX_PLAINTEXT_RECORD ? len - done : MAX_PLAINTEXT_RECORD;
        p[0] = (unsigned char)content_type;
        p[1] = (unsigned char)(version >> 8);
        p[2] = (unsigned char)(version & 0xff);
        p[3] = (unsigned char)(chunk >> 8);
        p[4] = (unsigned char)(chunk & 0xff);
        if (chunk > 0)
            memcpy(p + HEADER_SIZE, data + done, chunk);
        p += HEADER_SIZE + chunk;
        done += chunk;
    }
    layer->out.len += len + records * HEADER_SIZE;
    return ENGINE_RECORDS_OK;
}

int engine_record_layer_write(engine_record_layer *layer, int content_type,
                              const unsigned char *data, size_t len)
{
    if (layer == NULL || (data == NULL && len > 0) || content_type < 1 || content_type > 255)
        return ENGINE_RECORDS_EINVAL;
    if (pthread_mutex_trylock(&layer->lock) != 0)
        return ENGINE_RECORDS_EBUSY;
    int rc = ENGINE_RECORDS_OK;
    engine_record_key *k = layer->write_key;
    if (k == NULL) {
        if (len > 0)
            rc = append_plaintext(layer, content_type, data, len, 0x0303);
    } else if (len > 0) {
        size_t records = 0, total = 0;
        rc = sealed_layout(len, layer->max_fragment, layer->pad_to, &records, &total);
        if (rc == ENGINE_RECORDS_OK)
            rc = buffer_reserve(&layer->out, total);
        if (rc == ENGINE_RECORDS_OK) {
            byte_buffer *out = &layer->out;
            size_t written = 0;
            uint64_t sealed = 0;
            rc = engine_records_seal(k, data, len, content_type, layer->max_fragment,
                                     layer->pad_to, out->data + out->start + out->len,
                                     out->cap - out->start - out->len, 1, &written, &sealed);
            if (rc == ENGINE_RECORDS_OK) {
                out->len += written;
                if (layer->update_after > 0 && (k->spent || k->seq >= layer->update_after))
                    rc = ENGINE_RECORDS_UPDATE;
            }
        }
    }
    layer->sizes.to_send = layer->out.len;
    pthread_mutex_unlock(&layer->lock);
    return rc;
}

int engine_record_layer_write_plaintext(engine_record_layer *layer, int content_type,
                                        const unsigned char *data, size_t len, int version)
{
    if (layer == NULL || (data == NULL && len > 0) || content_type < 0 || content_type > 255
        || version < 0 || version > 0xffff)
        return ENGINE_RECORDS_EINVAL;
    if (pthread_mutex_trylock(&layer->lock) != 0)
        return ENGINE_RECORDS_EBUSY;
    int rc = append_plaintext(layer, content_type, data, len, version);
    layer->sizes.to_send = layer->out.len;
    pthread_mutex_unlock(&layer->lock);
    return rc;
}

int64_t engine_record_layer_take(engine_record_layer *layer, unsigned char *out, size_t cap)
{
    if (layer == NULL || (out == NULL && cap > 0))
        return ENGINE_RECORDS_EINVAL;
    if (pthread_mutex_trylock(&layer->lock) != 0)
        return ENGINE_RECORDS_EBUSY;
    byte_buffer *b = &layer->out;
    size_t n = b->len < cap ? b->len : cap;
    if (n > 0) {
        memcpy(out, b->data + b->start, n);
        buffer_consume(b, n);
    }
    layer->sizes.to_send = b->len;
    pthread_mutex_unlock(&layer->lock);
    return (int64_t)n;
}

/* Open the protected application_data records at `rec` (`left` bytes, the first complete)
 * into out + *off: adds what they gave to `result`, and returns OK to read on, RECORD for a
 * record of another inner type (handed over), or what stopped the batch. */
static int open_protected(engine_record_layer *layer, const unsigned char *rec, size_t left,
                          unsigned char *out, size_t out_cap, size_t *off, size_t *used,
                          engine_record_read *result)
{
    uint64_t segments[3 * READ_SEGMENTS];
    size_t opened = 0;
    *used = 0;
    int rc = engine_records_open(layer->read_key, rec, left, out + *off, out_cap - *off, 1,
                                 segments, READ_SEGMENTS, &opened, used);
    size_t content = 0;
    for (size_t i = 0; i < opened; i++) {
        int type = (int)segments[3 * i];
        size_t length = (size_t)segments[3 * i + 2];
        if (type == APPLICATION_DATA) {
            result->data_len += length;
            result->data_records++;
            content += length;
            continue;
        }
        /* the last record opened: handed over, its payload right after the data */
        result->record_type = type;
        result->record_protected = 1;
        result->record_complete = 1;
        result->record_offset = *off + (size_t)segments[3 * i + 1];
        result->record_length = length;
        *off += content + length;
        return ENGINE_RECORDS_RECORD;
    }
    *off += content;
    if (rc == ENGINE_RECORDS_OK && opened == 0)
        return ENGINE_RECORDS_SPACE; /* the first record did not fit: cannot happen with
                                        out_cap = bytes received */
    return rc;
}

int engine_record_layer_read(engine_record_layer *layer, const unsigned char *data, size_t len,
                             unsigned char *out, size_t out_cap, engine_record_read *result)
{
    if (layer == NULL || result == NULL || (data == NULL && len > 0)
        || (out == NULL && out_cap > 0) || overlaps(data, len, out, out_cap))
        return ENGINE_RECORDS_EINVAL;
    memset(result, 0, sizeof(*result));
    if (pthread_mutex_trylock(&layer->lock) != 0)
        return ENGINE_RECORDS_EBUSY;
    byte_buffer *in = &layer->in;
    const unsigned char *src = data;
    size_t src_len = len;
    int direct = in->len == 0; /* read the caller's bytes in place; keep only the rest */
    if (!direct) {
        if (buffer_append(in, data, len) != ENGINE_RECORDS_OK) {
            pthread_mutex_unlock(&layer->lock);
            return ENGINE_RECORDS_ENOMEM;
        }
        src = in->data + in->start;
        src_len = in->len;
        if (overlaps(src, src_len, out, out_cap)) {
            pthread_mutex_unlock(&layer->lock);
            return ENGINE_RECORDS_EINVAL;
        }
    }
    size_t pos = 0, off = 0;
    int rc = ENGINE_RECORDS_OK;
    while (src_len - pos >= HEADER_SIZE) {
        const unsigned char *rec = src + pos;
        size_t left = src_len - pos, length = header_length(rec);
        if (length > MAX_CIPHERTEXT) {
            rc = ENGINE_RECORDS_OVERFLOW;
            result->stop_length = length;
            break;
        }
        if (rec[0] == APPLICATION_DATA && layer->read_key != NULL) {
            if (left - HEADER_SIZE < length)
                break; /* wait for the rest of the record */
            size_t used = 0;
            rc = open_protected(layer, rec, left, out, out_cap, &off, &used, result);
            pos += used;
            if (rc == ENGINE_RECORDS_OK)
                continue;
            if (rc != ENGINE_RECORDS_RECORD && src_len - pos >= HEADER_SIZE)
                result->stop_length = header_length(src + pos);
            break;
        }
        /* Not protected: hand it over as soon as its header is here, so the caller can refuse
         * a record that may not come now before waiting for all of it. */
        result->record_type = rec[0];
        result->record_length = length;
        rc = ENGINE_RECORDS_RECORD;
        if (left - HEADER_SIZE >= length) {
            if (length > out_cap - off) {
                rc = ENGINE_RECORDS_SPACE;
                break;
            }
            if (length > 0)
                memcpy(out + off, rec + HEADER_SIZE, length);
            result->record_complete = 1;
            result->record_offset = off;
            off += length;
            pos += HEADER_SIZE + length;
        }
        break;
    }
    int kept = ENGINE_RECORDS_OK;
    if (direct)
        kept = buffer_append(in, src + pos, src_len - pos);
    else
        buffer_consume(in, pos);
    layer->sizes.received = in->len;
    pthread_mutex_unlock(&layer->lock);
    return kept != ENGINE_RECORDS_OK ? kept : rc;
}

int engine_record_layer_skip_record(engine_record_layer *layer)
{
    if (layer == NULL)
        return ENGINE_RECORDS_EINVAL;
    if (pthread_mutex_trylock(&layer->lock) != 0)
        return ENGINE_RECORDS_EBUSY;
    byte_buffer *in = &layer->in;
    int rc = ENGINE_RECORDS_EINVAL;
    if (in->len >= HEADER_SIZE) {
        size_t length = header_length(in->data + in->start);
        if (in->len - HEADER_SIZE >= length) {
            buffer_consume(in, HEADER_SIZE + length);
            rc = ENGINE_RECORDS_OK;
        }
    }
    layer->sizes.received = in->len;
    pthread_mutex_unlock(&layer->lock);
    return rc;
}

int engine_record_layer_seq(engine_record_layer *layer, int write, uint64_t *seq)
{
    if (layer == NULL || seq == NULL)
        return ENGINE_RECORDS_EINVAL;
    if (pthread_mutex_trylock(&layer->lock) != 0)
        return ENGINE_RECORDS_EBUSY;
    engine_record_key *k = write ? layer->write_key : layer->read_key;
    int rc = ENGINE_RECORDS_EINVAL;
    if (k != NULL) {
        *seq = k->seq;
        rc = k->spent;
    }
    pthread_mutex_unlock(&layer->lock);
    return rc;
}
