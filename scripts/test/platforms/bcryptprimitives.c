/* bcryptprimitives.dll for the wine of runtimes.sh (Debian bookworm's wine 8.0, which
   lacks this DLL; real Windows >= 8 has it): ProcessPrng, which Rust's std (>= 1.78)
   imports on Windows for its random numbers (HashMap keys), so without it a Rust
   .node fails to load ("bcryptprimitives.dll not found"). Implemented with advapi32's
   RtlGenRandom (SystemFunction036), which wine has. No C library: imports advapi32 only.
   Built by runtimes.sh:
     zig cc -target x86_64-windows-gnu -shared -O2 -s -nostdlib
            -Wl,--entry=DllMainCRTStartup -o bcryptprimitives.dll THIS.c -ladvapi32 */
typedef int BOOL;
typedef unsigned char BOOLEAN;

__declspec(dllimport) BOOLEAN __stdcall SystemFunction036(void *buf, unsigned long len);

BOOL __stdcall DllMainCRTStartup(void *module, unsigned long reason, void *reserved) {
  (void)module; (void)reason; (void)reserved;
  return 1;
}

/* BOOL WINAPI ProcessPrng(PBYTE pbData, SIZE_T cbData): always succeeds on Windows. */
__declspec(dllexport) BOOL __stdcall ProcessPrng(unsigned char *data, unsigned long long len) {
  while (len) {
    unsigned long n = len > 0x40000000 ? 0x40000000 : (unsigned long)len;
    if (!SystemFunction036(data, n)) return 0;
    data += n;
    len -= n;
  }
  return 1;
}
