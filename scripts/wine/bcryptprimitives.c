/* A stand-in for Windows' bcryptprimitives.dll, which Wine 8.0 (Debian 12) lacks and
 * Rust's standard library imports ProcessPrng from. Only for running the Windows build
 * under Wine in tests; real Windows has its own. */
#include <windows.h>
#include <bcrypt.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, data, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG)))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
