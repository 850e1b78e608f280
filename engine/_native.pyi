"""Types of the cffi extension engine._native, written by csrc/native_stub.py from csrc/*.h.

Do not edit: run ``python csrc/native_stub.py`` after changing a header.
"""

from typing import Any, Union

CData = Any  # a cffi pointer, array or struct
Buffer = Union[bytes, CData]  # a const buffer: immutable bytes, or a pointer from cffi

ffi: Any  # a cffi.FFI (cffi has no types of its own)


class engine_record_layer_sizes:
    """csrc struct engine_record_layer_sizes."""

    to_send: int
    received: int


class engine_record_read:
    """csrc struct engine_record_read."""

    data_len: int
    data_records: int
    record_type: int
    record_protected: int
    record_complete: int
    record_offset: int
    record_length: int
    stop_length: int


class engine_verify_result:
    """csrc struct engine_verify_result."""

    code: int
    depth: int
    chain_len: int
    crl_reason: int
    revoked_at: int


class engine_verify_chains:
    """csrc struct engine_verify_chains."""

    certs: CData
    n_certs: int
    der: CData
    der_offsets: CData
    der_len: int
    starts: CData
    members: CData
    n_chains: int
    names: CData
    names_len: int
    unnamed: CData


class engine_verify_params:
    """csrc struct engine_verify_params."""

    at: int
    purpose: int
    max_depth: int
    check_crls: int
    threads: int
    options: int


class _Lib:
    ENGINE_KS_SHA256: int
    ENGINE_KS_SHA384: int
    ENGINE_KS_OK: int
    ENGINE_KS_EINVAL: int
    ENGINE_KS_ECRYPTO: int
    ENGINE_RECORDS_OK: int
    ENGINE_RECORDS_AUTH: int
    ENGINE_RECORDS_OVERFLOW: int
    ENGINE_RECORDS_UNEXPECTED: int
    ENGINE_RECORDS_SEQ: int
    ENGINE_RECORDS_SPACE: int
    ENGINE_RECORDS_RECORD: int
    ENGINE_RECORDS_UPDATE: int
    ENGINE_RECORDS_EINVAL: int
    ENGINE_RECORDS_ENOMEM: int
    ENGINE_RECORDS_ECRYPTO: int
    ENGINE_RECORDS_EBUSY: int
    ENGINE_RECORD_HEADER_SIZE: int
    ENGINE_RECORD_TAG_SIZE: int
    ENGINE_RECORD_IV_SIZE: int
    ENGINE_RECORD_MAX_FRAGMENT: int
    ENGINE_RECORD_MAX_CIPHERTEXT: int
    ENGINE_RECORD_TLS13: int
    ENGINE_SUITE_AES_128_GCM: int
    ENGINE_SUITE_AES_256_GCM: int
    ENGINE_SUITE_CHACHA20_POLY1305: int
    ENGINE_VERIFY_REVOKED: int
    ENGINE_VERIFY_CRL_MISSING: int
    ENGINE_VERIFY_CRL_BAD_SIGNATURE: int
    ENGINE_VERIFY_CRL_NO_CRL_SIGN: int
    ENGINE_VERIFY_CRL_EXPIRED: int
    ENGINE_VERIFY_CRL_NOT_YET_VALID: int
    ENGINE_VERIFY_CRL_NO_NUMBER: int
    ENGINE_VERIFY_CRL_NUMBER_CRITICAL: int
    ENGINE_VERIFY_CRL_CRITICAL_EXTENSION: int
    ENGINE_VERIFY_CRL_NO_NEXT_UPDATE: int
    ENGINE_VERIFY_CRL_MALFORMED: int
    ENGINE_VERIFY_MALFORMED: int
    ENGINE_VERIFY_NO_SERVER_NAME: int
    ENGINE_VERIFY_BAD_NAME: int
    ENGINE_VERIFY_EMPTY_CHAIN: int
    ENGINE_VERIFY_UNUSABLE_NAME: int
    ENGINE_VERIFY_WEAK_KEY: int
    ENGINE_VERIFY_FORBIDDEN_KEY: int
    ENGINE_VERIFY_BAD_SERIAL: int
    ENGINE_VERIFY_EKU_MISSING: int
    ENGINE_VERIFY_EKU_CRITICAL: int
    ENGINE_VERIFY_EKU_ANY: int
    ENGINE_VERIFY_CN_NOT_IN_SAN: int
    ENGINE_VERIFY_ANCHOR_AKI: int
    ENGINE_VERIFY_ANCHOR_EKU: int
    ENGINE_VERIFY_LEAF_IS_CA: int
    ENGINE_VERIFY_LEAF_NAME_CONSTRAINTS: int
    ENGINE_VERIFY_SAN_CRITICAL: int
    ENGINE_VERIFY_BAD_DNS_NAME: int
    ENGINE_VERIFY_BAD_EXTENSION: int
    ENGINE_VERIFY_EMPTY_NAME_CONSTRAINTS: int
    ENGINE_VERIFY_BAD_ADDRESS: int
    ENGINE_VERIFY_INTERCHANGEABLE: int
    ENGINE_VERIFY_INTERNAL: int
    ENGINE_VERIFY_PATH_UNKNOWN: int
    ENGINE_VERIFY_OPENSSL_SIGNATURES: int
    ENGINE_VERIFY_OPENSSL_CRLS: int
    ENGINE_VERIFY_NO_SIGNATURE_MEMO: int

    def engine_ks_expand_label(self, hash: int, secret: Buffer, secret_len: int, label: Buffer,
        label_len: int, context: Buffer, context_len: int, out: CData, length: int, /) -> int: ...
    def engine_ks_early(self, hash: int, psk: Buffer, psk_len: int, external: int, hello_hash:
        Buffer, out: CData, out_len: int, /) -> int: ...
    def engine_ks_handshake(self, hash: int, key_len: int, early_secret: Buffer, shared: Buffer,
        shared_len: int, hello_hash: Buffer, out: CData, out_len: int, /) -> int: ...
    def engine_ks_application(self, hash: int, key_len: int, master_secret: Buffer, finished_hash:
        Buffer, out: CData, out_len: int, /) -> int: ...
    def engine_ks_traffic(self, hash: int, key_len: int, secret: Buffer, out: CData, out_len: int,
        /) -> int: ...
    def engine_ks_finished(self, hash: int, base_key: Buffer, transcript_hash: Buffer, out: CData,
        out_len: int, /) -> int: ...
    def engine_record_key_new(self, suite: int, format: int, key: Buffer, key_len: int, iv: Buffer,
        iv_len: int, encrypt: int, seq: int, spent: int, /) -> CData: ...
    def engine_record_key_free(self, key: CData, /) -> None: ...
    def engine_record_key_seq(self, key: CData, seq: CData, /) -> int: ...
    def engine_records_seal(self, key: CData, in_: Buffer, in_len: int, content_type: int,
        max_fragment: int, pad_to: int, out: CData, out_cap: int, threads: int, written: CData,
        records: CData, /) -> int: ...
    def engine_records_seal_messages(self, key: CData, in_: Buffer, in_len: int, lengths: CData,
        count: int, content_type: int, pad_to: int, out: CData, out_cap: int, threads: int,
        written: CData, /) -> int: ...
    def engine_records_open(self, key: CData, in_: Buffer, in_len: int, out: CData, out_cap: int,
        threads: int, segments: CData, max_segments: int, records: CData, consumed: CData,
        /) -> int: ...
    def engine_aead_oneshot(self, key: CData, in_: Buffer, in_len: int, out: CData, out_cap: int,
        written: CData, /) -> int: ...
    def engine_record_layer_new(self) -> CData: ...
    def engine_record_layer_free(self, layer: CData, /) -> None: ...
    def engine_record_layer_sizes_of(self, layer: CData, /) -> CData: ...
    def engine_record_layer_set_key(self, layer: CData, write: int, suite: int, key: Buffer,
        key_len: int, iv: Buffer, iv_len: int, update_after: int, /) -> int: ...
    def engine_record_layer_set_limits(self, layer: CData, max_fragment: int, pad_to: int,
        /) -> int: ...
    def engine_record_layer_write(self, layer: CData, content_type: int, data: Buffer, len: int,
        /) -> int: ...
    def engine_record_layer_write_plaintext(self, layer: CData, content_type: int, data: Buffer,
        len: int, version: int, /) -> int: ...
    def engine_record_layer_take(self, layer: CData, out: CData, cap: int, /) -> int: ...
    def engine_record_layer_read(self, layer: CData, data: Buffer, len: int, out: CData, out_cap:
        int, result: CData, /) -> int: ...
    def engine_record_layer_seq(self, layer: CData, write: int, seq: CData, /) -> int: ...
    def engine_record_layer_skip_record(self, layer: CData, /) -> int: ...
    def engine_verify_store_new(self, anchor_ders: CData, anchor_lens: CData, n_anchors: int,
        crl_ders: CData, crl_lens: CData, n_crls: int, bad_index: CData, /) -> CData: ...
    def engine_verify_store_free(self, store: CData, /) -> None: ...
    def engine_verify_batch(self, store: CData, chains: CData, params: CData, results: CData,
        paths: CData, paths_len: int, /) -> int: ...
    def engine_verify_cert_free(self, cert: CData, /) -> None: ...
    def engine_verify_memo_clear(self) -> None: ...
    def engine_verify_memo_stats(self, hits: CData, misses: CData, /) -> None: ...
    def engine_verify_error_string(self, code: int, /) -> CData: ...
    def engine_verify_signatures(self, store: CData, subjects: CData, issuers: CData, n: int,
        crl_issuers: CData, n_crl_issuers: int, threads: int, /) -> int: ...
    def engine_libcrypto_built_number(self) -> int: ...
    def engine_libcrypto_built_text(self) -> CData: ...
    def engine_libcrypto_runtime_number(self) -> int: ...
    def engine_libcrypto_runtime_text(self) -> CData: ...


lib: _Lib
