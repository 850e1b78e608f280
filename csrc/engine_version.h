#ifndef ENGINE_VERSION_H
#define ENGINE_VERSION_H

/* The libcrypto this extension was compiled against (OPENSSL_VERSION_NUMBER) and its text. */
unsigned long engine_libcrypto_built_number(void);
const char *engine_libcrypto_built_text(void);

/* The libcrypto loaded at run time (OpenSSL_version_num / OpenSSL_version). */
unsigned long engine_libcrypto_runtime_number(void);
const char *engine_libcrypto_runtime_text(void);

#endif
