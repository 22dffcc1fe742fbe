/*
 * Linked into the fully static (musl) valkey-server by build-static.sh, with
 *   -Wl,--wrap=dlopen,--wrap=dlsym,--wrap=dlclose
 *
 * Valkey 9.x links its Lua engine in statically (BUILD_LUA default) but still
 * finds it the dynamic way: dlopen(NULL) then dlsym("ValkeyModule_OnLoad_lua")
 * (module.c, moduleLoadStaticSymbol). A static musl binary has no dynamic
 * loader: musl's dlopen() answers "Dynamic loading not supported", and the
 * server panics at startup with "Lua engine initialization failed".
 *
 * Here dlopen(NULL) returns a handle to this executable, and dlsym() on that
 * handle resolves the statically linked module's entry points from a table.
 * Everything else (MODULE LOAD of a .so, dlerror) goes to musl unchanged, so
 * loading a shared module still fails with musl's own message.
 */
#include <dlfcn.h>
#include <string.h>

extern int ValkeyModule_OnLoad_lua(void *ctx, void **argv, int argc);
extern int ValkeyModule_OnUnload_lua(void *ctx);

void *__real_dlopen(const char *file, int mode);
void *__real_dlsym(void *handle, const char *name);
int __real_dlclose(void *handle);

static char self_handle;

static const struct {
    const char *name;
    void *addr;
} static_symbols[] = {
    {"ValkeyModule_OnLoad_lua", (void *)ValkeyModule_OnLoad_lua},
    {"ValkeyModule_OnUnload_lua", (void *)ValkeyModule_OnUnload_lua},
};

void *__wrap_dlopen(const char *file, int mode) {
    if (file == NULL) return &self_handle;
    return __real_dlopen(file, mode);
}

void *__wrap_dlsym(void *handle, const char *name) {
    if (handle == &self_handle) {
        for (size_t i = 0; i < sizeof(static_symbols) / sizeof(static_symbols[0]); i++) {
            if (strcmp(static_symbols[i].name, name) == 0) return static_symbols[i].addr;
        }
        handle = RTLD_DEFAULT; /* musl sets dlerror(): "Symbol not found: <name>" */
    }
    return __real_dlsym(handle, name);
}

int __wrap_dlclose(void *handle) {
    if (handle == &self_handle) return 0;
    return __real_dlclose(handle);
}
