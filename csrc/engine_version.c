/* Which libcrypto the extension was built against and which one it runs against. */
#include <openssl/crypto.h>
#include <openssl/opensslv.h>

#include "engine_version.h"

#if OPENSSL_VERSION_NUMBER < 0x30000000L
#error "engine's native extension needs OpenSSL 3.0 or later (libcrypto 3.x)"
#endif

unsigned long engine_libcrypto_built_number(void) { return OPENSSL_VERSION_NUMBER; }

const char *engine_libcrypto_built_text(void) { return OPENSSL_VERSION_TEXT; }

unsigned long engine_libcrypto_runtime_number(void) { return OpenSSL_version_num(); }

const char *engine_libcrypto_runtime_text(void) { return OpenSSL_version(OPENSSL_VERSION); }
