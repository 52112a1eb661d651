#include <stddef.h>
#include <stdint.h>

// libFuzzer's driver (LLVM 13 and later, in libclang_rt.fuzzer): parses libFuzzer's flags from
// argv and fuzzes `callback`. A harness calls it from its own entry point, because SwiftPM links
// an executable's `main` to `<Module>_main`, which would otherwise hide libFuzzer's `main`.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
